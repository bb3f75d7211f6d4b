"""Plausible windows for the dates and times people enter, written once.

Every date or time a person types into the service (when a dispute happened, when a session is
planned, when an agreement was performed, a role's last day...) carries one of the windows
below as annotation metadata, e.g. `occurred_at: DisputeTime | None`. A value outside its
window is a 422 naming the field and the window, before anything is read or written.

Relative windows are measured against the service's clock: the API sets it for each request
(`measured_by`, so tests that move the clock move the windows), never `datetime.now()`. Rules
that need a record (a performance not before its agreement) stay in the services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from mediation.clock import Clock, SystemClock
from mediation.hotline.rules import retention_cutoff
from mediation.privacy import EARLIEST_BIRTH
from mediation.sessions.rules import PAST_SLACK
from mediation.settings import Settings, get_settings

CST = timezone(timedelta(hours=8))
# Clocks of phones and PCs drift: a time a few minutes "in the future" is not an error.
CLOCK_SKEW = timedelta(minutes=5)
# A term of office or a payment plan: twice the five-year term of a community committee.
TERM_YEARS = 10
# Query filters and the official calendar: any reporting range a center could ask for, any
# year the calendar takes, nothing that overflows.
FIRST_DAY = datetime(2000, 1, 1, tzinfo=CST)
LAST_DAY = datetime(2100, 12, 31, 23, 59, 59, tzinfo=CST)

Bound = Callable[[datetime, Settings], datetime]
D = TypeVar("D", date, datetime)


@dataclass(frozen=True)
class Measure:
    """What the windows are measured against: the service's clock and settings."""

    clock: Clock
    settings: Settings


_measure: ContextVar[Measure | None] = ContextVar("mediation_window_measure", default=None)


@contextmanager
def measured_by(clock: Clock, settings: Settings) -> Iterator[None]:
    """Validation inside this block measures relative windows with this clock."""
    token = _measure.set(Measure(clock, settings))
    try:
        yield
    finally:
        _measure.reset(token)


def _current() -> Measure:
    # Outside a request (a script validating a body): the system clock and environment.
    return _measure.get() or Measure(SystemClock(), get_settings())


def _day(d: date) -> datetime:
    return datetime.combine(d, time(), CST)


def years_before(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def _show(value: datetime, as_day: bool) -> str:
    local = value.astimezone(CST)
    return local.date().isoformat() if as_day else local.strftime("%Y-%m-%d %H:%M+08:00")


@dataclass(frozen=True)
class Window:
    """Earliest and latest plausible value, as functions of now and the settings, and the
    reason in words (naming the setting that moves it)."""

    rule: str
    earliest: Bound
    latest: Bound

    def bounds_at(self, now: datetime, settings: Settings) -> tuple[datetime, datetime]:
        return self.earliest(now, settings), self.latest(now, settings)

    def problem(self, value: date | datetime, now: datetime, settings: Settings) -> str | None:
        """Why the value lies outside the window, or None when it lies inside."""
        lo, hi = self.bounds_at(now, settings)
        if isinstance(value, datetime):
            inside = lo <= value <= hi + CLOCK_SKEW
        else:
            inside = lo.astimezone(CST).date() <= value <= hi.astimezone(CST).date()
        if inside:
            return None
        as_day = not isinstance(value, datetime)
        return f"must lie between {_show(lo, as_day)} and {_show(hi, as_day)}: {self.rule}"

    def check(self, value: D | None) -> D | None:
        if value is None:
            return None
        m = _current()
        problem = self.problem(value, m.clock.now(), m.settings)
        if problem is not None:
            raise ValueError(problem)
        return value

    # As `Annotated` metadata: the check runs after the type's own validation.
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["x-window"] = self.rule
        return out


def _now(now: datetime, s: Settings) -> datetime:
    return now


def _center(now: datetime, s: Settings) -> datetime:
    return _day(s.center_opened_on)


def _planning(now: datetime, s: Settings) -> datetime:
    return now + timedelta(days=s.planning_max_days_ahead)


DISPUTE = Window(
    "a dispute is registered after it happened, at most MEDIATION_DISPUTE_MAX_YEARS_BACK "
    "years before",
    lambda now, s: years_before(now, s.dispute_max_years_back),
    _now,
)
CALL = Window(
    "a call is logged after it happened, not before the hotline opened "
    "(MEDIATION_HOTLINE_OPENED_ON) nor past the retention period "
    "(MEDIATION_HOTLINE_RETENTION_DAYS)",
    lambda now, s: max(_day(s.hotline_opened_on), retention_cutoff(now, s.hotline_retention_days)),
    _now,
)
HOTLINE_PLAN = Window(
    "the hotline's plans lie between its opening (MEDIATION_HOTLINE_OPENED_ON) and "
    "MEDIATION_PLANNING_MAX_DAYS_AHEAD days ahead",
    lambda now, s: _day(s.hotline_opened_on),
    _planning,
)
SESSION_PLAN = Window(
    "a session is planned for a time still to come, at most MEDIATION_SESSION_MAX_DAYS_AHEAD "
    "days ahead",
    lambda now, s: now - PAST_SLACK,
    lambda now, s: now + timedelta(days=s.session_max_days_ahead),
)
HELD = Window(
    "what a session did is recorded after it happened, at most MEDIATION_SESSION_MAX_DAYS_BACK "
    "days later",
    lambda now, s: now - timedelta(days=s.session_max_days_back),
    _now,
)
PAST = Window(
    "it happened already, not before the center's records begin (MEDIATION_CENTER_OPENED_ON)",
    _center,
    _now,
)
PLAN = Window(
    "from the start of the center's records (MEDIATION_CENTER_OPENED_ON) to "
    "MEDIATION_PLANNING_MAX_DAYS_AHEAD days ahead",
    _center,
    _planning,
)
TERM = Window(
    f"from the start of the center's records (MEDIATION_CENTER_OPENED_ON) to {TERM_YEARS} "
    "years ahead",
    _center,
    lambda now, s: years_before(now, -TERM_YEARS),
)
BIRTH = Window(
    "the birth date in a resident ID number lies from 1900 to today",
    lambda now, s: _day(EARLIEST_BIRTH),
    _now,
)
YEARS = Window(
    "filters and the official calendar take the years 2000 to 2100",
    lambda now, s: FIRST_DAY,
    lambda now, s: LAST_DAY,
)

DisputeTime = Annotated[AwareDatetime, DISPUTE]
CallTime = Annotated[AwareDatetime, CALL]
HotlinePlanTime = Annotated[AwareDatetime, HOTLINE_PLAN]
SessionPlanTime = Annotated[AwareDatetime, SESSION_PLAN]
HeldTime = Annotated[AwareDatetime, HELD]
HeldDay = Annotated[date, HELD]
PastTime = Annotated[AwareDatetime, PAST]
PastDay = Annotated[date, PAST]
PlanDay = Annotated[date, PLAN]
TermDay = Annotated[date, TERM]
QueryTime = Annotated[AwareDatetime, YEARS]
QueryDay = Annotated[date, YEARS]
CalendarDay = Annotated[date, YEARS]
