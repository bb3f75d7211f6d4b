"""Pure rules of outreach: the opinion life cycle, the micro-class schedule, duty-rota gaps."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from mediation.clock import CENTER_TZ
from mediation.errors import InvalidTransition
from mediation.outreach.enums import OpinionStatus, Weekday

S = OpinionStatus

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
