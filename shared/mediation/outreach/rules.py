"""Pure rules of outreach: the opinion life cycle, the micro-class schedule, duty-rota gaps."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from mediation.clock import CENTER_TZ
from mediation.errors import InvalidTransition, rule_code
from mediation.outreach.enums import OpinionStatus, Weekday

S = OpinionStatus

# Problem codes of the outreach rules a client may branch on (see mediation.errors.rule_code).
PARTNER_WITHOUT_ROLE = rule_code(
    "partner-without-role", "A partner named does not hold their role at the activity's place."
)
SERIES_ENDS_BEFORE_CLASS = rule_code(
    "series-ends-before-class", "A class was held after that day: the series cannot end before."
)
SERIES_NOT_RUNNING = rule_code(
    "series-not-running", "The series was not running on that day (Beijing time)."
)
CLASS_RECORDED = rule_code(
    "class-already-recorded", "A class of this series is already recorded at that time."
)
SERIES_UNKNOWN = rule_code("series-unknown", "No micro-class series with this id.")
COLLECTOR_INVALID = rule_code(
    "collector-invalid",
    "An opinion names who collected it: a grid, building or unit head or an owners' "
    "committee member there.",
)
OPINION_SETTLED = rule_code(
    "opinion-settled", "Only an opinion not yet forwarded or answered can be corrected."
)
OPINION_HAS_CASE = rule_code("opinion-has-case", "The opinion was already turned into a case.")
ROTA_NEEDS_GRID = rule_code(
    "rota-needs-grid", "The self-governance office's rota is kept per grid: give a grid."
)
DUTY_WITHOUT_ROLE = rule_code(
    "duty-without-role",
    "Only the grid's heads and owners' committee members take turns on duty.",
)
ALREADY_ON_DUTY = rule_code(
    "already-on-duty", "This person is already on duty in this grid that day."
)

# action -> (states it may start from, state it leads to)
OPINION_ACTIONS: dict[str, tuple[frozenset[OpinionStatus], OpinionStatus]] = {
    "forward": (frozenset({S.received}), S.forwarded),
    # Many requests are answered on the spot (a policy question): no forwarding needed.
    "answer": (frozenset({S.received, S.forwarded}), S.answered),
    "close": (frozenset({S.answered}), S.closed),
    # Turned into a dispute case: passed on to mediation, answered when the case concludes.
    "convert_to_case": (frozenset({S.received, S.forwarded}), S.forwarded),
}


def opinion_transition(status: OpinionStatus, action: str) -> OpinionStatus:
    """The status after `action`, or InvalidTransition (409) naming what is allowed."""
    sources, target = OPINION_ACTIONS[action]
    if status not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise InvalidTransition(
            f"Cannot {action.replace('_', ' ')} an opinion that is {status.value} "
            f"(only when {allowed}).",
            current_status=status.value,
        )
    return target


def next_occurrence(
    weekday: Weekday,
    start_time: time,
    starts_on: date,
    ends_on: date | None,
    now: datetime,
) -> datetime | None:
    """The next scheduled class at or after `now`, in the center's zone; None once the series
    has ended."""
    local_now = now.astimezone(CENTER_TZ)
    day = max(local_now.date(), starts_on)
    day += timedelta(days=(weekday.iso - day.isoweekday()) % 7)
    when = datetime.combine(day, start_time, tzinfo=CENTER_TZ)
    if when < local_now:
        when += timedelta(days=7)
    if ends_on is not None and when.date() > ends_on:
        return None
    return when


def on_schedule(held_at: datetime, weekday: Weekday, start_time: time) -> bool:
    """Held on the series' weekday at its start time (Beijing time, to the minute)."""
    local = held_at.astimezone(CENTER_TZ)
    return local.isoweekday() == weekday.iso and (local.hour, local.minute) == (
        start_time.hour,
        start_time.minute,
    )


def days_between(first: date, last: date, weekdays: Iterable[Weekday]) -> list[date]:
    """Every day from `first` to `last` inclusive that falls on one of `weekdays`."""
    wanted = {w.iso for w in weekdays}
    out: list[date] = []
    day = first
    while day <= last:
        if day.isoweekday() in wanted:
            out.append(day)
        day += timedelta(days=1)
    return out


def uncovered_days(days: Iterable[date], covered: set[date]) -> list[date]:
    """The days nobody valid is on duty."""
    return [d for d in days if d not in covered]
