"""Scales, names and defaults shared by the generator, the load runner and the smoke test."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = Path(os.environ.get("BENCH_OUT", BENCH_DIR / "out"))

# The machine's PostgreSQL server (trust auth) and Redis; the benchmark database is its own.
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")

PASSWORD = os.environ.get("BENCH_PASSWORD", "bench-password")
# Accounts the load runs sign in with: (role, how many). All sign in for real.
ACCOUNTS_PER_LEVEL = 4


@dataclass(frozen=True)
class Scale:
    name: str
    units: int  # jurisdiction nodes
    cases: int
    sessions: int  # mediation sessions (only when the schema has them)
    calls: int  # hotline calls
    duration: int  # seconds per load run
    warmup: int  # seconds of unmeasured load before each run

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


SCALES: dict[str, Scale] = {
    "full": Scale("full", 100_000, 1_000_000, 300_000, 500_000, duration=20, warmup=4),
    "small": Scale("small", 10_000, 100_000, 30_000, 50_000, duration=10, warmup=3),
    "tiny": Scale("tiny", 300, 2_000, 600, 1_000, duration=1, warmup=0),
}


# The case's life-cycle timestamps after intake, in the table's column order (one per status,
# the latest time it was entered; see mediation.cases.models): the generator fills them from
# a case's history, a fixture clone clears them.
CASE_STAMPS = (
    "accepted_at",
    "rejected_at",
    "assigned_at",
    "mediation_started_at",
    "resolved_at",
    "failed_at",
    "followed_up_at",
    "closed_at",
    "withdrawn_at",
)


def database_url(database: str, server: str = PG_SERVER) -> str:
    """A libpq URL for `database` on the server of `server`."""
    return server.rsplit("/", 1)[0] + "/" + database


def async_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)
