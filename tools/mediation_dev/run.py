"""`make run`: embedded services when no URLs are given, migrations, then API and worker.

The API and the worker run as separate child processes, each in its own process group so
that a Ctrl-C in the terminal reaches only this supervisor, which then stops them in order:
children first (SIGTERM, SIGKILL after a grace period), then the embedded services.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from mediation_dev.services import DevServices, DevServicesError

__all__ = ["API_MODULE", "CLI_MODULE", "WORKER_MODULE", "main"]

# The same entry points as the console scripts in pyproject.toml (checked by tests).
API_MODULE = "mediation_api.main"  # mediation-api
WORKER_MODULE = "mediation_worker.main"  # mediation-worker
CLI_MODULE = "mediation.cli"  # mediation

TERM_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
_POLL = 0.2


def _log(message: str) -> None:
    print(f"[run] {message}", file=sys.stderr, flush=True)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGTERM if this supervisor dies (Linux only).

    Covers the case where the supervisor itself is SIGKILLed and cannot clean up.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: nothing to load after
    except OSError:
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _client_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to `host`."""
    if host in {"", "0.0.0.0"}:
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _announce_demo(env: dict[str, str]) -> None:
    """The demo credentials, second factor included (development values only)."""
    from mediation.settings import DEMO_TOTP_SECRET

    secret = env.get("MEDIATION_DEMO_TOTP_SECRET") or DEMO_TOTP_SECRET
    password = env.get("MEDIATION_DEMO_PASSWORD") or "demo-password"
    _log(f"demo accounts: username = role, password {password!r}")
    _log(
        f"demo administrators' TOTP secret (development only): {secret}  "
        f"(otpauth://totp/demo?secret={secret}&issuer=mediation)"
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _Supervisor:
    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.services: DevServices | None = None
        self.stop_signal: int | None = None
        self.force = False
        self._preexec = _die_with_parent()

    # -- signals

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum
            _log(f"received {signal.Signals(signum).name}, shutting down")
        elif signum == signal.SIGINT and not self.force:
            # A second Ctrl-C means "now". Repeated SIGTERMs do not: `make` forwards the
            # SIGTERM it gets, so a signal sent to the whole group arrives twice.
            self.force = True
            _log("second interrupt: killing the children")

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None

    # -- children

    def spawn(self, name: str, module: str, *args: str, env: dict[str, str]) -> None:
        self.children[name] = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own group: Ctrl-C goes to us; killpg reaches its helpers
            preexec_fn=self._preexec,
        )

    def run_step(self, name: str, module: str, *args: str, env: dict[str, str]) -> int:
        """Run a one-shot child to completion (or until we are asked to stop)."""
        _log(f"{name}: {' '.join(['python -m', module, *args])}")
        self.spawn(name, module, *args, env=env)
        proc = self.children[name]
        while proc.poll() is None and not self.stopping:
            time.sleep(_POLL)
        self.stop_children()
        del self.children[name]
        return proc.returncode if proc.returncode is not None else 1

    def stop_children(self) -> None:
        running = {name: p for name, p in self.children.items() if p.poll() is None}
        for name, proc in running.items():
            _log(f"stopping {name} (pid {proc.pid})")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + TERM_GRACE
        while (
            any(p.poll() is None for p in running.values())
            and time.monotonic() < deadline
            and not self.force
        ):
            time.sleep(0.05)
        for name, proc in self.children.items():
            if proc.poll() is None:
                _log(f"{name} ignored SIGTERM for {TERM_GRACE:.0f}s, killing it")
            # Also reaps anything the child left behind in its group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    # -- the whole run

    def run(self, args: argparse.Namespace) -> int:
        env = dict(os.environ)
        data_dir = Path(args.data_dir).resolve()
        env["MEDIATION_DATA_DIR"] = str(data_dir)
        env["HOST"], env["PORT"] = args.host, str(args.port)
        env.setdefault("PYTHONUNBUFFERED", "1")

        if not _port_free(args.host, args.port):
            _log(f"error: {args.host}:{args.port} is already in use; set PORT=<port>")
            return 1

        need_pg, need_redis = not env.get("DATABASE_URL"), not env.get("REDIS_URL")
        if need_pg or need_redis:
            what = " and ".join(
                n for n, need in (("PostgreSQL", need_pg), ("Redis", need_redis)) if need
            )
            _log(f"starting embedded {what} in {data_dir}")
            started = time.monotonic()
            self.services = DevServices.from_env(
                data_dir, postgres=need_pg, redis=need_redis, stop_with_parent=True
            )
            database_url, redis_url = self.services.start()
            if need_pg:
                env["DATABASE_URL"] = database_url
                _log(f"DATABASE_URL={database_url}")
            if need_redis:
                env["REDIS_URL"] = redis_url
                _log(f"REDIS_URL={redis_url}")
            _log(f"services ready in {time.monotonic() - started:.1f}s")

        steps = [("migrate", ("migrate",))]
        if args.demo:
            steps.append(("seed-demo", ("seed-demo",)))
        for name, step_args in steps:
            if self.stopping:
                return 0
            code = self.run_step(name, CLI_MODULE, *step_args, env=env)
            if self.stopping:
                return 0
            if code != 0:
                _log(f"error: {name} failed with exit code {code}")
                return code
        if args.demo:
            _announce_demo(env)

        if self.stopping:
            return 0
        self.spawn("api", API_MODULE, env=env)
        self.spawn("worker", WORKER_MODULE, env=env)
        for name, proc in self.children.items():
            _log(f"{name} started (pid {proc.pid})")

        host = _client_host(args.host)
        docs = f"http://{_url_host(host)}:{args.port}/docs"
        announced = False
        while not self.stopping:
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    _log(f"error: {name} exited unexpectedly with code {proc.returncode}")
                    return proc.returncode or 1
            if not announced and _port_open(host, args.port):
                _log(f"API docs: {docs}  (Ctrl-C to stop)")
                announced = True
            time.sleep(_POLL)
        return 0

    def shutdown(self) -> None:
        self.stop_children()
        if self.services is not None:
            _log("stopping embedded services")
            try:
                self.services.stop()
            except DevServicesError as exc:
                _log(f"error: {exc}")
        _log("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mediation run",
        description="Run the API and the worker for development "
        "(embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set).",
    )
    parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument(
        "--demo",
        action="store_true",
        default=_truthy(os.environ.get("DEMO")),
        help="load demo data after migrating (also DEMO=1)",
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("MEDIATION_DATA_DIR") or ".data",
        help="where embedded services keep their data (MEDIATION_DATA_DIR)",
    )
    args = parser.parse_args(argv)

    supervisor = _Supervisor()
    supervisor.install_signal_handlers()
    try:
        return supervisor.run(args)
    except DevServicesError as exc:
        _log(f"error: {exc}")
        return 1
    finally:
        supervisor.shutdown()


if __name__ == "__main__":
    sys.exit(main())
