"""Which instants a month covers. Months are Asia/Shanghai calendar months: a case resolved at
23:59 Beijing time on the 31st counts in that month, though it is 15:59 UTC. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mediation.clock import CENTER_TZ, center_date

FIRST_YEAR = 2000
LAST_YEAR = 2100
# YYYY-MM within FIRST_YEAR..LAST_YEAR (year 0 or 9999 has no neighbouring months to compare).
MONTH_PATTERN = r"^(20\d{2}|2100)-(0[1-9]|1[0-2])$"


@dataclass(frozen=True)
class Window:
    """[start, end) as instants; `first`/`stop` are the same bounds as Beijing dates (for
    columns holding a date, e.g. the day an outreach activity was held)."""

    start: datetime
    end: datetime

    @property
    def first(self) -> date:
        return center_date(self.start)

    @property
    def stop(self) -> date:
        """The first day not covered: the day of `end` when it is midnight, else the day after
        (a month-to-date window counts records dated today)."""
        local = self.end.astimezone(CENTER_TZ)
        day = local.date()
        return day if local.timetz().replace(tzinfo=None) == time(0) else day + timedelta(days=1)


@dataclass(frozen=True)
class Periods:
    """The period computed and the two it is compared with (环比 and 同比)."""

    current: Window
    previous_month: Window
    previous_year: Window


def shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def month_start(year: int, month: int) -> datetime:
    return datetime.combine(date(year, month, 1), time(0), tzinfo=CENTER_TZ)


def month_window(year: int, month: int) -> Window:
    return Window(month_start(year, month), month_start(*shift(year, month, 1)))


def monthly_periods(year: int, month: int) -> Periods:
    return Periods(
        month_window(year, month),
        month_window(*shift(year, month, -1)),
        month_window(year - 1, month),
    )


def live_periods(now: datetime) -> Periods:
    """Month to date: from the 1st 00:00 Beijing time until `now`, compared with the same
    stretch of the previous month and of the same month a year before (cut at their end)."""
    local = now.astimezone(CENTER_TZ)
    current = Window(month_start(local.year, local.month), now)
    elapsed = now - current.start

    def same_stretch(year: int, month: int) -> Window:
        w = month_window(year, month)
        return Window(w.start, min(w.start + elapsed, w.end))

    return Periods(
        current,
        same_stretch(*shift(local.year, local.month, -1)),
        same_stretch(local.year - 1, local.month),
    )


def month_just_ended(now: datetime) -> tuple[int, int]:
    local = now.astimezone(CENTER_TZ)
    return shift(local.year, local.month, -1)


def current_month(now: datetime) -> tuple[int, int]:
    local = now.astimezone(CENTER_TZ)
    return local.year, local.month


def label(year: int, month: int) -> str:
    """How the API and the notifications name a month: "2026-10"."""
    return f"{year:04d}-{month:02d}"


def parse(value: str) -> tuple[int, int]:
    if not re.match(MONTH_PATTERN, value):
        raise ValueError("a month is written YYYY-MM")
    return int(value[:4]), int(value[5:])


def has_ended(year: int, month: int, now: datetime) -> bool:
    return month_window(year, month).end <= now


def last_months(year: int, month: int, count: int) -> list[tuple[int, int]]:
    """The `count` months ending with (year, month), oldest first."""
    return [shift(year, month, -i) for i in range(count - 1, -1, -1)]
