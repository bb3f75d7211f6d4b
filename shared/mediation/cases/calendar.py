"""China's working-day calendar, as pure data and rules.

The State Council publishes each year's holidays and moved working days (调休) around
November for the next year. The database table `calendar_days` is the source of truth; it is
seeded by migration 0003 (chinese-calendar 1.11.0: 2020-2026) and an administrator
loads a new year through the API. For a day the table does not hold, the best package data
stands in: `chinese-calendar` when it knows the year (official), otherwise the `holidays`
package's estimate (weekends and fixed-date holidays, no moved days), marked provisional so
deadlines computed over it are flagged and recomputed when the year is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import holidays as holidays_pkg

SOURCE_OFFICIAL_PACKAGE = f"chinese-calendar {chinese_calendar.__version__}"
SOURCE_ESTIMATE = f"holidays {holidays_pkg.__version__} (estimate)"

_ONE = timedelta(days=1)
_ZH_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}


@dataclass(frozen=True)
class DayInfo:
    day: date
    working: bool
    provisional: bool
    source: str
    name: str | None = None


def _year_days(year: int) -> Iterable[date]:
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += _ONE


@lru_cache(maxsize=64)
def official_year(year: int) -> tuple[DayInfo, ...] | None:
    """The year from `chinese-calendar`, or None when the package does not know it."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return None
    out = []
    for d in _year_days(year):
        working = chinese_calendar.is_workday(d)
        _, festival = chinese_calendar.get_holiday_detail(d)
        # The package names the festival for its holidays and its moved working days alike.
        zh = _ZH_NAMES.get(str(festival), str(festival)) if festival else None
        name = None
        if zh and not working:
            name = zh
        elif zh and d.weekday() >= 5:
            name = f"{zh}调休上班"
        out.append(DayInfo(d, working, False, SOURCE_OFFICIAL_PACKAGE, name))
    return tuple(out)


@lru_cache(maxsize=64)
def estimated_year(year: int) -> tuple[DayInfo, ...]:
    """The `holidays` package's view of a year: provisional, used only until it is loaded."""
    cn = holidays_pkg.China(years=year, language="zh_CN")
    out = []
    for d in _year_days(year):
        working = cn.is_working_day(d)
        out.append(DayInfo(d, working, True, SOURCE_ESTIMATE, cn.get(d)))
    return tuple(out)


def package_year(year: int) -> tuple[DayInfo, ...]:
    """Best package data for a year: official if `chinese-calendar` knows it, else estimated."""
    return official_year(year) or estimated_year(year)


def year_from_schedule(
    year: int, holidays: Mapping[date, str], working_weekends: Mapping[date, str], source: str
) -> list[DayInfo]:
    """A year as announced: weekdays work unless a holiday, weekends rest unless moved."""
    out = []
    for d in _year_days(year):
        if d in holidays:
            out.append(DayInfo(d, False, False, source, holidays[d]))
        elif d in working_weekends:
            out.append(DayInfo(d, True, False, source, working_weekends[d]))
        else:
            out.append(DayInfo(d, d.weekday() < 5, False, source))
    return out


class WorkingCalendar:
    """Days loaded from the table, with package data standing in for days it lacks."""

    def __init__(self, known: Mapping[date, DayInfo] | None = None) -> None:
        self._known = dict(known or {})

    def day(self, d: date) -> DayInfo:
        info = self._known.get(d)
        if info is None:
            info = package_year(d.year)[d.timetuple().tm_yday - 1]
        return info

    def is_working(self, d: date) -> bool:
        return self.day(d).working

    def add_working_days(self, start: date, n: int) -> tuple[date, bool]:
        """The n-th working day after `start` (start itself not counted, as for legal time
        limits), and whether any day counted on is provisional."""
        d, counted, provisional = start, 0, False
        while counted < n:
            d += _ONE
            info = self.day(d)
            provisional |= info.provisional
            if info.working:
                counted += 1
        return d, provisional

    def roll_forward(self, d: date) -> tuple[date, bool]:
        """`d`, or the next working day when `d` is a rest day (a time limit ending on a
        holiday ends on the first working day after it)."""
        info = self.day(d)
        provisional = info.provisional
        while not info.working:
            d += _ONE
            info = self.day(d)
            provisional |= info.provisional
        return d, provisional

    def working_days_between(self, after: date, through: date) -> int:
        """Working days in (after, through]."""
        count, d = 0, after
        while d < through:
            d += _ONE
            if self.is_working(d):
                count += 1
        return count
