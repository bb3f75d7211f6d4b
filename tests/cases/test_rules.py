"""The pure rules: the state machine, the working-day calendar, deadlines, case numbers."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from mediation.auth.policy import ROLE_PERMISSIONS
from mediation.cases import lifecycle
from mediation.cases.calendar import WorkingCalendar, official_year, year_from_schedule
from mediation.cases.deadlines import due_time, pause_shift
from mediation.cases.enums import CaseAction as A
from mediation.cases.enums import CaseStatus as S
from mediation.cases.enums import DeadlineUnit
from mediation.cases.numbers import case_number, case_number_ascii
from mediation.clock import CENTER_TZ
from mediation.errors import InvalidTransition
from mediation.org.enums import Role


def test_every_status_is_reachable_and_terminal_ones_only_reopen() -> None:
    seen, todo = {S.received}, [S.received]
    while todo:
        status = todo.pop()
        for action in lifecycle.allowed_actions(status):
            nxt = lifecycle.next_status(status, action)
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(S)
    for status in lifecycle.TERMINAL:
        assert lifecycle.allowed_actions(status) == [A.reopen]


def test_illegal_action_names_what_is_allowed() -> None:
    with pytest.raises(InvalidTransition) as err:
        lifecycle.next_status(S.assigned, A.resolve)
    assert err.value.extra["allowed_actions"] == [
        "transfer",
        "escalate",
        "start_mediation",
        "withdraw",
        "pause",
        "extend_deadline",
    ]
    with pytest.raises(InvalidTransition) as err:
        lifecycle.next_status(S.in_mediation, A.resolve, paused=True)
    assert "paused" in err.value.detail
    assert lifecycle.next_status(S.in_mediation, A.resume, paused=True) is S.in_mediation


def test_who_may_act() -> None:
    dispatcher = ROLE_PERMISSIONS[Role.dispatcher]
    mediator = ROLE_PERMISSIONS[Role.mediator]
    assert lifecycle.may_perform(A.accept, dispatcher, is_handler=False)
    assert not lifecycle.may_perform(A.accept, mediator, is_handler=True)
    assert lifecycle.may_perform(A.resolve, mediator, is_handler=True)
    assert not lifecycle.may_perform(A.resolve, mediator, is_handler=False)
    assert not lifecycle.may_perform(A.close, mediator, is_handler=True)


def test_calendar_knows_2026_moved_days_and_estimates_2027() -> None:
    days = official_year(2026)
    assert days is not None
    by_day = {d.day: d for d in days}
    assert (
        by_day[date(2026, 10, 10)].working and by_day[date(2026, 10, 10)].name == "国庆节调休上班"
    )
    assert not by_day[date(2026, 10, 1)].working and by_day[date(2026, 10, 1)].name == "国庆节"
    assert official_year(2027) is None
    cal = WorkingCalendar()
    assert cal.add_working_days(date(2026, 12, 31), 1) == (date(2027, 1, 4), True)
    assert cal.day(date(2027, 1, 1)).provisional


def test_loaded_schedule_overrides_the_estimate() -> None:
    days = year_from_schedule(2027, {date(2027, 1, 4): "元旦"}, {date(2027, 1, 9): "调休"}, "x")
    cal = WorkingCalendar({d.day: d for d in days})
    assert cal.add_working_days(date(2027, 1, 1), 1) == (date(2027, 1, 5), False)
    assert cal.is_working(date(2027, 1, 9))


def test_due_times_and_pauses() -> None:
    cal = WorkingCalendar()
    start = datetime(2026, 9, 30, 16, 0, tzinfo=CENTER_TZ)
    due, provisional = due_time(start, DeadlineUnit.working_days, 5, cal)
    assert due == datetime(2026, 10, 13, 23, 59, 59, tzinfo=CENTER_TZ) and not provisional
    due, _ = due_time(start, DeadlineUnit.hours, 24, cal)
    assert due == datetime(2026, 10, 1, 16, 0, tzinfo=CENTER_TZ)
    paused = pause_shift(
        DeadlineUnit.working_days, start, datetime(2026, 10, 9, 9, 0, tzinfo=CENTER_TZ), cal
    )
    assert paused == 2  # 8 and 9 October; the holiday costs nothing


def test_case_numbers() -> None:
    assert case_number("铁西区", 2026, 1) == "铁西调〔2026〕0001号"
    assert case_number("伊通满族自治县", 2026, 12345) == "伊通调〔2026〕12345号"
    assert case_number("双辽市", 2027, 7) == "双辽调〔2027〕0007号"
    assert case_number_ascii("220302", 2026, 123) == "220302-2026-0123"


def test_contract_documents_every_case_operation() -> None:
    from mediation_api.main import create_app
    from tests.contract import expand_shared

    schema = expand_shared(create_app().openapi())
    ops = {
        op["operationId"]: (path, op)
        for path, item in schema["paths"].items()
        for op in item.values()
        if (path.startswith("/api/v1/cases") or "calendar" in path or "deadline" in path)
    }
    for action in (
        "accept",
        "reject",
        "assign",
        "transfer",
        "escalate",
        "start-mediation",
        "resolve",
        "fail",
        "withdraw",
        "follow-up",
        "close",
        "reopen",
    ):
        _path, op = ops[f"cases-{action}"]
        assert {"409", "412", "422", "428"} <= set(op["responses"]), action
        assert "application/problem+json" in op["responses"]["409"]["content"]
        assert any(p["name"] == "Idempotency-Key" for p in op["parameters"])
    assert {
        "cases-list",
        "cases-create",
        "cases-get",
        "cases-timeline",
        "calendar-load",
        "deadline-rules-update",
    } <= set(ops)
    enums = schema["components"]["schemas"]["CaseStatus"]["description"]
    assert "`in_mediation`: 调解中" in enums


def test_the_outcome_of_the_mediation_outlives_the_status() -> None:
    """The 卷宗 cover's 调解结果: a followed-up or closed case still says how it ended; after a
    reopen, the later of resolved and failed."""
    earlier = datetime(2026, 10, 1, tzinfo=CENTER_TZ)
    later = datetime(2026, 11, 1, tzinfo=CENTER_TZ)
    assert lifecycle.outcome(S.in_mediation, None, None) is None
    assert lifecycle.outcome(S.resolved, later, None) is S.resolved
    assert lifecycle.outcome(S.withdrawn, None, None) is S.withdrawn
    assert lifecycle.outcome(S.closed, later, None) is S.resolved
    assert lifecycle.outcome(S.closed, None, later) is S.failed
    assert lifecycle.outcome(S.followed_up, earlier, later) is S.failed
    assert lifecycle.outcome(S.closed, later, earlier) is S.resolved
