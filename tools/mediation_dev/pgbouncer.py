"""A throwaway PgBouncer (Debian's `pgbouncer` package) in front of a PostgreSQL server, for
the tests, `bench/pooler_cost.py` and the HA drill.

    with pgbouncer(upstream_port=5432, pool_size=4) as bouncer:
        bouncer.url("mediation")   # postgresql://postgres@127.0.0.1:<port>/mediation

Transaction mode by default, trust authentication (as the servers it fronts here), every
database name passed through. PgBouncer refuses to run as root: as root it is started with
`-u postgres` (the Debian package's user), its files handed to that user."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mediation_dev.services import free_port

RUN_AS = "postgres"


class PgBouncerMissing(RuntimeError):
    pass


@dataclass
class PgBouncer:
    port: int
    process: subprocess.Popen[bytes]
    folder: Path

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    @property
    def log(self) -> str:
        try:
            return (self.folder / "pgbouncer.log").read_text()
        except OSError:
            return ""


def binary() -> str:
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if found is None:
        raise PgBouncerMissing("pgbouncer is not installed: apt-get install -y pgbouncer")
    return found


def _config(
    folder: Path, port: int, upstream: str, upstream_port: int, mode: str, size: int
) -> Path:
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={upstream} port={upstream_port}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'userlist.txt'}\n"
        f"pool_mode = {mode}\n"
        f"default_pool_size = {size}\n"
        "max_client_conn = 2000\n"
        # asyncpg sends nothing PgBouncer does not know; other drivers (JDBC) send this one.
        "ignore_startup_parameters = extra_float_digits\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
        "admin_users = postgres\n"
        "stats_users = postgres\n"
    )
    return ini


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def pgbouncer(
    upstream_port: int,
    *,
    upstream_host: str = "127.0.0.1",
    pool_mode: str = "transaction",
    pool_size: int = 4,
    port: int | None = None,
) -> Iterator[PgBouncer]:
    folder = Path(tempfile.mkdtemp(prefix="mediation-pgbouncer-"))
    folder.chmod(0o755)
    port = port or free_port()
    ini = _config(folder, port, upstream_host, upstream_port, pool_mode, pool_size)
    args = [binary(), str(ini)]
    if os.geteuid() == 0:
        user = pwd.getpwnam(RUN_AS)
        for path in (folder, *folder.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
        args = [args[0], "-u", RUN_AS, str(ini)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bouncer = PgBouncer(port, process, folder)
    try:
        deadline = time.monotonic() + 15
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start on {port}:\n{bouncer.log}")
            time.sleep(0.05)
        yield bouncer
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # immediate shutdown: close every connection
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        shutil.rmtree(folder, ignore_errors=True)
