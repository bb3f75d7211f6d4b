"""Pure rules: the opinion life cycle, the weekly schedule in Beijing time, rota days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from mediation.clock import CENTER_TZ
from mediation.errors import InvalidTransition
from mediation.outreach.enums import OpinionStatus, Weekday
from mediation.outreach.rules import (
    days_between,
    next_occurrence,
    on_schedule,
    opinion_transition,
    uncovered_days,
)

S = OpinionStatus
WED = Weekday.wednesday
HALF_SEVEN = time(19, 30)


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        (S.received, "forward", S.forwarded),
        (S.received, "answer", S.answered),
        (S.forwarded, "answer", S.answered),
        (S.answered, "close", S.closed),
        (S.received, "convert_to_case", S.forwarded),
        (S.forwarded, "convert_to_case", S.forwarded),
    ],
)
def test_allowed_transitions(status: OpinionStatus, action: str, after: OpinionStatus) -> None:
    assert opinion_transition(status, action) is after


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.received, "close"),
        (S.forwarded, "forward"),
        (S.answered, "answer"),
        (S.closed, "forward"),
        (S.answered, "convert_to_case"),
        (S.closed, "convert_to_case"),
    ],
)
def test_refused_transitions(status: OpinionStatus, action: str) -> None:
    with pytest.raises(InvalidTransition) as err:
        opinion_transition(status, action)
    assert err.value.extra["current_status"] == status.value


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_next_class_in_beijing_time() -> None:
    start = date(2026, 1, 1)
    # Wednesday 2 December 2026, before, at and after 19:30 Beijing time.
    assert next_occurrence(WED, HALF_SEVEN, start, None, at("2026-12-02T19:00:00+08:00")) == at(
        "2026-12-02T19:30:00+08:00"
    )
    assert next_occurrence(WED, HALF_SEVEN, start, None, at("2026-12-02T19:30:00+08:00")) == at(
        "2026-12-02T19:30:00+08:00"
    )
    assert next_occurrence(WED, HALF_SEVEN, start, None, at("2026-12-02T19:31:00+08:00")) == at(
        "2026-12-09T19:30:00+08:00"
    )
    # 23:00 UTC on Tuesday is already Wednesday 07:00 in Beijing.
    utc = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert next_occurrence(WED, HALF_SEVEN, start, None, utc) == at("2026-12-02T19:30:00+08:00")
    # Not before the series starts, none after it ends.
    assert next_occurrence(
        WED, HALF_SEVEN, date(2027, 1, 1), None, at("2026-12-02T08:00:00+08:00")
    ) == at("2027-01-06T19:30:00+08:00")
    assert (
        next_occurrence(WED, HALF_SEVEN, start, date(2026, 12, 8), at("2026-12-03T08:00:00+08:00"))
        is None
    )
    result = next_occurrence(WED, HALF_SEVEN, start, None, utc)
    assert result is not None and result.tzinfo == CENTER_TZ  # shown as +08:00


def test_on_schedule_compares_beijing_wall_clock() -> None:
    assert on_schedule(datetime(2026, 11, 25, 11, 30, tzinfo=UTC), WED, HALF_SEVEN)
    assert not on_schedule(datetime(2026, 11, 25, 19, 30, tzinfo=UTC), WED, HALF_SEVEN)
    assert not on_schedule(at("2026-11-26T19:30:00+08:00"), WED, HALF_SEVEN)


def test_rota_days() -> None:
    days = days_between(date(2026, 11, 30), date(2026, 12, 6), [Weekday.monday, Weekday.sunday])
    assert days == [date(2026, 11, 30), date(2026, 12, 6)]
    assert uncovered_days(days, {date(2026, 11, 30)}) == [date(2026, 12, 6)]
    assert [w.iso for w in Weekday] == [1, 2, 3, 4, 5, 6, 7]
    assert Weekday.of(3) is WED
