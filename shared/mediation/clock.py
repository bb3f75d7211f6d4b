"""Time comes from a clock object so tests can move it instead of sleeping (their clock:
`mediation_dev.clock.MovableClock`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

CENTER_TZ = ZoneInfo("Asia/Shanghai")


def center_date(at: datetime) -> date:
    """The center's calendar day (Beijing) of an instant: what "today", a role's first and
    last day and a deadline's day mean. Never the UTC date, which is yesterday's before 08:00."""
    return at.astimezone(CENTER_TZ).date()


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
