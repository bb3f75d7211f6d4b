"""The processes of the drill: started in a temporary directory, on free ports, stopped (all of
them, by their own pids) when the drill ends however it ends."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediation_dev.pgbouncer import binary as pgbouncer_binary
from mediation_dev.services import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PACKAGES = {
    "patroni": "patroni",
    "etcd": "etcd-server",
    "haproxy": "haproxy",
    "redis-sentinel": "redis-sentinel",
    "redis-server": "redis-server",
    "pgbouncer": "pgbouncer",
}
PG_USER = "postgres"  # PostgreSQL and PgBouncer refuse to run as root
VENV_BIN = Path(sys.executable).parent


def ensure_packages() -> None:
    """apt-get install what is missing (the drill needs Debian's packages, nothing else)."""
    missing = [pkg for cmd, pkg in PACKAGES.items() if shutil.which(cmd) is None]
    if not (PG_BIN / "postgres").exists():
        missing.append("postgresql-15")
    if not missing:
        return
    print(f"ha drill: installing {' '.join(missing)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *missing], check=True, env=env
    )


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_json(url: str, timeout: float = 1.0) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class Cluster:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mediation-ha-drill-")))
    procs: dict[str, Proc] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    queue: str = field(default_factory=lambda: f"mediation-drill-{os.getpid()}")
    restarts: dict[str, int] = field(default_factory=dict)  # by the drill's supervisor
    killed: set[str] = field(default_factory=set)  # by the drill, on purpose
    stopping: bool = False

    def __post_init__(self) -> None:
        self.root.chmod(0o755)
        self.user = pwd.getpwnam(PG_USER) if os.geteuid() == 0 else None
        for name in (
            "etcd",
            "pg1",
            "pg2",
            "haproxy",
            "pgbouncer",
            "redis1",
            "redis2",
            "s1",
            "s2",
            "s3",
            "api1",
            "api2",
        ):
            self.ports[name] = free_port()
        self.ports["rest1"], self.ports["rest2"] = free_port(), free_port()
        self.ports["pg_primary"], self.ports["api"] = free_port(), free_port()
        self.ports["etcd_peer"] = free_port()

    # -- processes ---------------------------------------------------------------------

    def _own(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def start(
        self, name: str, args: list[str], *, as_pg: bool = False, env: dict[str, str] | None = None
    ) -> Proc:
        log = self.root / f"{name}.log"
        out = log.open("ab")
        kwargs: dict[str, Any] = {}
        if as_pg and self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        popen = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=self.root,
            start_new_session=True,  # its own process group: killed with its children
            **kwargs,
        )
        out.close()
        proc = Proc(name, popen, log)
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        """SIGKILL to the process group: the process and whatever it started (postgres)."""
        proc = self.procs[name]
        self.killed.add(name)
        try:
            os.killpg(proc.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.popen.wait(10)

    def postmaster_pid(self, node: str) -> int | None:
        try:
            return int((self.root / node / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill_node(self, node: str) -> None:
        """A database host dies: Patroni and its PostgreSQL, both SIGKILL (Patroni starts
        PostgreSQL in a session of its own, so the postmaster is killed by its pid file)."""
        pid = self.postmaster_pid(node)
        self.kill(node)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop_all(self) -> None:
        self.stopping = True
        for proc in reversed(list(self.procs.values())):
            if proc.popen.poll() is None:
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the group too: postgres children of a Patroni that is gone
                os.killpg(proc.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        # PostgreSQL started by Patroni leads a session of its own: by its pid file.
        for node in ("pg1", "pg2"):
            pid = self.postmaster_pid(node)
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGQUIT)
                except ProcessLookupError:
                    pass

    def exited_by_themselves(self) -> dict[str, int]:
        """Our services (APIs, workers) that ended without the drill killing them: a service
        that exits on an outage is a failure even when another took over its work."""
        return {
            name: code
            for name, proc in self.procs.items()
            if name.startswith(("api", "worker"))
            and name not in self.killed
            and (code := proc.popen.poll()) is not None
        }

    def tail(self, name: str, lines: int = 20) -> str:
        try:
            return "\n".join(self.procs[name].log.read_text(errors="replace").splitlines()[-lines:])
        except (KeyError, OSError):
            return ""

    def complaints(self, name: str, lines: int = 40) -> str:
        """The last `lines` warnings and errors of a process of ours (JSON log lines)."""
        try:
            text = self.procs[name].log.read_text(errors="replace")
        except (KeyError, OSError):
            return ""
        picked = [
            line
            for line in text.splitlines()
            if '"level": "WARNING"' in line or '"level": "ERROR"' in line
        ]
        return "\n".join(picked[-lines:])

    # -- the set -------------------------------------------------------------------------

    def start_etcd(self) -> None:
        p, peer = self.ports["etcd"], self.ports["etcd_peer"]
        self.start(
            "etcd",
            [
                "etcd",
                "--name",
                "drill",
                "--data-dir",
                str(self.root / "etcd"),
                "--listen-client-urls",
                f"http://127.0.0.1:{p}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{p}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer}",
                "--initial-cluster",
                f"drill=http://127.0.0.1:{peer}",
            ],
        )
        wait_for(lambda: http_json(f"http://127.0.0.1:{p}/health")[0] == 200, 30, "etcd")

    def _patroni_config(self, node: str) -> Path:
        n = node[-1]
        folder = self.root / node
        folder.mkdir(mode=0o700)
        self._own(folder)
        config = {
            "scope": "mediation-drill",
            "namespace": f"/{self.queue}/",
            "name": node,
            "restapi": {
                "listen": f"127.0.0.1:{self.ports['rest' + n]}",
                "connect_address": f"127.0.0.1:{self.ports['rest' + n]}",
            },
            "etcd3": {"hosts": f"127.0.0.1:{self.ports['etcd']}"},
            "bootstrap": {
                "dcs": {
                    "ttl": 20,
                    "loop_wait": 2,
                    "retry_timeout": 5,
                    "maximum_lag_on_failover": 1048576,
                    "synchronous_mode": True,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "parameters": {
                            "max_connections": 200,
                            "wal_log_hints": "on",
                            "max_wal_senders": 10,
                            "max_replication_slots": 10,
                        },
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}],
                "pg_hba": [
                    "local all all trust",
                    "host all all 127.0.0.1/32 trust",
                    "host replication all 127.0.0.1/32 trust",
                ],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{self.ports[node]}",
                "connect_address": f"127.0.0.1:{self.ports[node]}",
                "data_dir": str(folder / "data"),
                "bin_dir": str(PG_BIN),
                "pgpass": str(folder / "pgpass"),
                "authentication": {
                    "superuser": {"username": "postgres", "password": "drill"},
                    "replication": {"username": "postgres", "password": "drill"},
                    "rewind": {"username": "postgres", "password": "drill"},
                },
                "parameters": {
                    "unix_socket_directories": str(folder),
                    # The server's own log beside Patroni's (pgN.log): lock waits and slow
                    # statements are what a stall after a kill is read from.
                    "logging_collector": "on",
                    "log_directory": str(folder / "log"),
                    "log_filename": "postgresql.log",
                    "log_line_prefix": "%m [%p] %a %c ",
                    "log_lock_waits": "on",
                    "log_min_duration_statement": 1000,
                },
            },
            "tags": {"nofailover": False, "noloadbalance": False},
        }
        path = folder / "patroni.yml"
        path.write_text(json.dumps(config))  # JSON is YAML
        self._own(path)
        return path

    def start_patroni(self, node: str, *, fresh: bool = True) -> None:
        config = self._patroni_config(node) if fresh else self.root / node / "patroni.yml"
        self.start(node, ["patroni", str(config)], as_pg=True)

    def patroni_role(self, node: str) -> str | None:
        try:
            status, body = http_json(f"http://127.0.0.1:{self.ports['rest' + node[-1]]}/patroni")
        except OSError:
            return None
        return str(body.get("role")) if status == 200 and isinstance(body, dict) else None

    def primary_node(self) -> str | None:
        for node in ("pg1", "pg2"):
            if self.procs.get(node) and self.procs[node].popen.poll() is None:
                if self.patroni_role(node) in ("master", "primary"):
                    return node
        return None

    def sync_standby_streaming(self) -> bool:
        for node in ("pg1", "pg2"):
            try:
                status, body = http_json(
                    f"http://127.0.0.1:{self.ports['rest' + node[-1]]}/cluster"
                )
            except OSError:
                continue
            if status == 200:
                members = body.get("members", [])
                return any(
                    m.get("role") == "sync_standby" and m.get("state") in ("streaming", "running")
                    for m in members
                )
        return False

    def start_postgres_cluster(self) -> None:
        self.start_patroni("pg1")
        wait_for(lambda: self.primary_node() == "pg1", 90, "the Patroni primary")
        self.start_patroni("pg2")
        wait_for(self.sync_standby_streaming, 120, "the synchronous standby")

    def start_haproxy(self) -> None:
        p = self.ports
        config = self.root / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 4000
defaults
    timeout connect 2s
    timeout client 90s
    timeout server 90s
    timeout check 1s
listen pg_primary
    mode tcp
    bind 127.0.0.1:{p["pg_primary"]}
    option httpchk GET /primary
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
    server pg1 127.0.0.1:{p["pg1"]} check port {p["rest1"]}
    server pg2 127.0.0.1:{p["pg2"]} check port {p["rest2"]}
listen api
    mode http
    bind 127.0.0.1:{p["api"]}
    balance roundrobin
    option httpchk GET /healthz
    option redispatch
    retries 3
    retry-on conn-failure empty-response
    default-server inter 500ms fall 2 rise 2
    server api1 127.0.0.1:{p["api1"]} check
    server api2 127.0.0.1:{p["api2"]} check
"""
        )
        self.start("haproxy", ["haproxy", "-db", "-f", str(config)])
        wait_for(lambda: port_open(p["pg_primary"]) and port_open(p["api"]), 20, "haproxy")

    def start_pgbouncer(self) -> None:
        folder = self.root / "pgbouncer"
        folder.mkdir()
        (folder / "userlist.txt").write_text('"postgres" ""\n')
        ini = folder / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.ports['pg_primary']}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.ports['pgbouncer']}\n"
            "unix_socket_dir =\nauth_type = trust\n"
            f"auth_file = {folder / 'userlist.txt'}\n"
            "pool_mode = transaction\ndefault_pool_size = 20\nmax_client_conn = 2000\n"
            # a server connection through HAProxy to a primary that died: drop it quickly
            "server_connect_timeout = 3\nserver_login_retry = 1\nquery_wait_timeout = 10\n"
            "ignore_startup_parameters = extra_float_digits\n"
        )
        for path in (folder, *folder.iterdir()):
            self._own(path)
        args = [pgbouncer_binary(), str(ini)]
        if self.user is not None:
            args = [args[0], "-u", PG_USER, str(ini)]
        self.start("pgbouncer", args)
        wait_for(lambda: port_open(self.ports["pgbouncer"]), 20, "pgbouncer")
        self._pgbouncer_args = args
        threading.Thread(target=self._supervise_pgbouncer, daemon=True).start()

    def _supervise_pgbouncer(self) -> None:
        """Restarts PgBouncer when it exits, as systemd (Restart=on-failure) or Kubernetes
        would: Debian's 1.18 can die on a burst of cancel requests ("bad client state")."""
        while not self.stopping:
            proc = self.procs["pgbouncer"]
            if proc.popen.poll() is not None and not self.stopping:
                self.restarts["pgbouncer"] = self.restarts.get("pgbouncer", 0) + 1
                self.start("pgbouncer", self._pgbouncer_args)
            time.sleep(0.5)

    def start_redis(self) -> None:
        for name, extra in (
            ("redis1", []),
            ("redis2", ["--replicaof", "127.0.0.1", str(self.ports["redis1"])]),
        ):
            folder = self.root / name
            folder.mkdir()
            self.start(
                name,
                [
                    "redis-server",
                    "--port",
                    str(self.ports[name]),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(folder),
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    *extra,
                ],
            )
            wait_for(lambda n=name: port_open(self.ports[n]), 20, name)
        for s in ("s1", "s2", "s3"):
            conf = self.root / f"{s}.conf"
            conf.write_text(
                f"port {self.ports[s]}\nbind 127.0.0.1\ndir {self.root}\n"
                f"sentinel monitor mymaster 127.0.0.1 {self.ports['redis1']} 2\n"
                "sentinel down-after-milliseconds mymaster 2000\n"
                "sentinel failover-timeout mymaster 10000\n"
                "sentinel parallel-syncs mymaster 1\n"
            )
            self.start(s, ["redis-sentinel", str(conf)])
            wait_for(lambda s=s: port_open(self.ports[s]), 20, s)

    def redis_master_name(self) -> str | None:
        out = subprocess.run(
            [
                "redis-cli",
                "-p",
                str(self.ports["s1"]),
                "sentinel",
                "get-master-addr-by-name",
                "mymaster",
            ],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.split()
        port = int(out[1]) if len(out) == 2 else None
        return next((n for n in ("redis1", "redis2") if self.ports[n] == port), None)

    # -- the service ---------------------------------------------------------------------

    @property
    def database(self) -> str:
        return "mediation"

    def service_env(self, receiver: str) -> dict[str, str]:
        p = self.ports
        sentinels = ",".join(f"127.0.0.1:{p[s]}" for s in ("s1", "s2", "s3"))
        return {
            "MEDIATION_ENV": "development",
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{p['pgbouncer']}/{self.database}",
            "DATABASE_DIRECT_URL": f"postgresql://postgres@127.0.0.1:{p['pg_primary']}/{self.database}",
            "DATABASE_POOLER": "pgbouncer",
            "REDIS_URL": f"redis+sentinel://{sentinels}/mymaster/0",
            "MEDIATION_ARQ_QUEUE": self.queue,
            "MEDIATION_DB_CONNECT_TIMEOUT_SECONDS": "3",
            "MEDIATION_RATE_LIMIT_PER_MINUTE": "100000",
            "MEDIATION_WEBHOOK_ALLOW_LOOPBACK": "true",
            "MEDIATION_SMS_GATEWAY_URL": f"{receiver}/sms",
            "MEDIATION_OUTBOX_STALE_SECONDS": "10",
            "MEDIATION_SMS_QUIET_HOURS": "",  # texts go out at once, whatever the hour
            "MEDIATION_LOG_LEVEL": "INFO",
        }

    def prepare_database(self, env: dict[str, str]) -> None:
        direct = env["DATABASE_DIRECT_URL"]
        subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-q",
                "-d",
                direct.rsplit("/", 1)[0] + "/postgres",
                "-c",
                f'CREATE DATABASE "{self.database}"',
            ],
            check=True,
            timeout=60,
        )
        run_env = {**os.environ, **env, "DATABASE_URL": direct}
        for command in (["migrate"], ["seed-demo"]):
            subprocess.run(
                [str(VENV_BIN / "mediation"), *command], check=True, env=run_env, timeout=300
            )

    def start_api(self, name: str, env: dict[str, str]) -> None:
        self.start(
            name,
            [str(VENV_BIN / "mediation-api")],
            env={**env, "HOST": "127.0.0.1", "PORT": str(self.ports[name])},
        )
        wait_for(
            lambda: http_json(f"http://127.0.0.1:{self.ports[name]}/healthz")[0] == 200, 60, name
        )

    def start_worker(self, name: str, env: dict[str, str]) -> None:
        self.start(name, [str(VENV_BIN / "mediation-worker")], env=env)
