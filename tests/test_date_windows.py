"""Every date and time a person enters has a plausible window (issue 16, item 1).

The table is the app's own contract: every request-body property and query parameter in date
or date-time format must carry a window (`x-window`, from `mediation.contracts.windows`), so a
new date field without one fails here. Each is then sent far in the past (1900) and far in the
future (2999): a 422 problem naming the field and the window, and nothing written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from mediation.auth.policy import ROLE_PERMISSIONS, Permission
from mediation.clock import CENTER_TZ
from mediation.contracts.windows import (
    CALL,
    DISPUTE,
    HELD,
    PAST,
    PLAN,
    SESSION_PLAN,
    TERM,
    YEARS,
    Window,
)
from mediation.settings import Settings
from mediation_api.openapi import document
from mediation_api.query import WINDOWS
from mediation_dev.demo import ACCOUNTS
from tests.contract import expand_shared
from tests.support.world import World

DATE_FORMATS = {"date", "date-time"}
# Path parameters that are not records: a valid value (records: a random id; the body is
# refused before anything is looked up).
PATH_VALUES = {"year": "2027", "month": "10", "kind": "dispute_category"}
TOO_EARLY = {"date": "1900-01-01", "date-time": "1900-01-01T09:00:00+08:00"}
TOO_LATE = {"date": "2999-01-01", "date-time": "2999-01-01T09:00:00+08:00"}


@dataclass(frozen=True)
class DateInput:
    method: str
    path: str
    operation_id: str
    where: str  # "body" or "query"
    field: tuple[str | int, ...]
    format: str
    window: str | None
    scopes: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.operation_id}:{self.where}.{'.'.join(map(str, self.field))}"


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _dates(
    doc: dict[str, Any], node: dict[str, Any], path: tuple[str | int, ...], depth: int = 0
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """(path, schema) of every date or date-time leaf under a schema."""
    if depth > 8:
        return
    node = _resolve(doc, node)
    if node.get("format") in DATE_FORMATS:
        yield path, node
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, []):
            yield from _dates(doc, sub, path, depth + 1)
    for name, sub in node.get("properties", {}).items():
        yield from _dates(doc, sub, (*path, name), depth + 1)
    if "items" in node:
        yield from _dates(doc, node["items"], (*path, 0), depth + 1)


def date_inputs() -> list[DateInput]:
    doc = expand_shared(document())
    out: dict[str, DateInput] = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            scopes = tuple(s for req in op.get("security", []) for v in req.values() for s in v)
            found: list[tuple[str, tuple[str | int, ...], dict[str, Any]]] = []
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                found += [("body", p, s) for p, s in _dates(doc, body["schema"], ())]
            for param in op.get("parameters", []):
                if param["in"] == "query":
                    found += [
                        ("query", (param["name"],), s) for _, s in _dates(doc, param["schema"], ())
                    ]
            for where, field, schema in found:
                item_ = DateInput(
                    method.upper(),
                    path,
                    op["operationId"],
                    where,
                    field,
                    schema["format"],
                    schema.get("x-window"),
                    scopes,
                )
                out.setdefault(item_.name, item_)
    return sorted(out.values(), key=lambda d: d.name)


INPUTS = date_inputs()


def test_every_date_a_person_enters_has_a_window() -> None:
    assert len(INPUTS) > 40  # the table found the fields (bodies and filters)
    missing = [d.name for d in INPUTS if d.window is None]
    assert missing == [], "dates without a plausible window (mediation.contracts.windows)"
    # The fields the acceptance run found unbounded are among them.
    names = {d.name for d in INPUTS}
    for expected in [
        "sessions-create:body.starts_at",
        "cases-performances-add:body.performed_on",
        "cases-follow-up:body.visited_at",
        "cases-create:body.occurred_at",
        "hotline-calls-create:body.started_at",
        "sessions-record-held:body.starts_at",
        "cases-list:query.received_from",
    ]:
        assert expected in names, expected


def _user_for(scopes: tuple[str, ...]) -> str:
    for role, *_ in ACCOUNTS:
        if all(Permission(s) in ROLE_PERMISSIONS[role] for s in scopes):
            return role.value
    raise AssertionError(f"no demo account holds {scopes}")


def _nest(field: tuple[str | int, ...], value: str) -> Any:
    if not field:
        return value
    head, rest = field[0], field[1:]
    return [_nest(rest, value)] if isinstance(head, int) else {head: _nest(rest, value)}


def _url(d: DateInput) -> str:
    url = d.path
    while "{" in url:
        start, end = url.index("{"), url.index("}")
        name = url[start + 1 : end]
        url = url[:start] + PATH_VALUES.get(name, str(uuid.uuid4())) + url[end + 1 :]
    return url


@pytest.mark.parametrize("d", INPUTS, ids=[d.name for d in INPUTS])
async def test_a_date_outside_its_window_is_refused(
    client: httpx.AsyncClient, world: World, sql: Any, d: DateInput
) -> None:
    headers = await world.headers(_user_for(d.scopes))
    dotted = ".".join([d.where, *map(str, d.field)])
    before = await sql(
        "SELECT (SELECT count(*) FROM outbox_events), (SELECT count(*) FROM case_events)"
    )
    for value in (TOO_EARLY[d.format], TOO_LATE[d.format]):
        if d.where == "body":
            r = await client.request(
                d.method,
                _url(d),
                json=_nest(d.field, value),
                headers={**headers, "If-Match": '"x-1"'},
            )
        else:
            r = await client.request(d.method, _url(d), params={d.field[0]: value}, headers=headers)
        assert r.status_code == 422, (value, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        messages = [e["message"] for e in r.json()["errors"] if e["field"] == dotted]
        assert messages, (value, r.json()["errors"])
        assert "must lie between" in messages[0] and str(d.window) in messages[0], messages
    after = await sql(
        "SELECT (SELECT count(*) FROM outbox_events), (SELECT count(*) FROM case_events)"
    )
    assert after == before


# --- filter windows: an end before the start ----------------------------------------------
# A bound with no partner (cases due before a time).
SINGLE_BOUNDS = {"due_before"}
FILTER_WINDOWS = [
    (op, start, end)
    for op in {d.operation_id: d for d in INPUTS if d.where == "query"}.values()
    for start, end in WINDOWS
    if {start, end} <= {d.field[0] for d in INPUTS if d.operation_id == op.operation_id}
]


def test_every_filter_date_bounds_a_window_with_its_partner() -> None:
    """A new pair of filter dates is named in mediation_api.query.WINDOWS, so its order is
    checked like the others'."""
    paired = {(op.operation_id, name) for op, *pair in FILTER_WINDOWS for name in pair}
    lone = [
        d.name
        for d in INPUTS
        if d.where == "query"
        and (d.operation_id, d.field[0]) not in paired
        and d.field[0] not in SINGLE_BOUNDS
    ]
    assert lone == []
    assert len(FILTER_WINDOWS) >= 15


@pytest.mark.parametrize(
    ("d", "start", "end"),
    FILTER_WINDOWS,
    ids=[f"{d.operation_id}:{start}-{end}" for d, start, end in FILTER_WINDOWS],
)
async def test_a_filter_window_that_ends_before_it_starts_is_refused(
    client: httpx.AsyncClient, world: World, d: DateInput, start: str, end: str
) -> None:
    """The acceptance run's lists answered `?received_from=<November>&received_to=<October>`
    with an empty page, which looks like a filtered one; the sessions list refused it. Every
    list and export now refuses it the same way."""
    headers = await world.headers(_user_for(d.scopes))
    later, earlier = (
        ("2026-11-01", "2026-10-01")
        if d.format == "date"
        else ("2026-11-01T00:00:00+08:00", "2026-10-01T00:00:00+08:00")
    )
    r = await client.get(_url(d), params={start: later, end: earlier}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "window-invalid"
    assert [e["field"] for e in r.json()["errors"]] == [f"query.{end}"]
    # One day is a window of dates; the same instant twice is an empty window of times.
    r = await client.get(_url(d), params={start: earlier, end: earlier}, headers=headers)
    assert r.status_code == (200 if d.format == "date" else 422), r.text


# --- the windows themselves, against the service clock ------------------------------------
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=CENTER_TZ)


@pytest.mark.parametrize(
    ("window", "inside", "outside"),
    [
        (
            DISPUTE,
            [NOW - timedelta(days=365 * 29), NOW + timedelta(minutes=4)],
            [NOW + timedelta(hours=1), NOW - timedelta(days=365 * 31)],
        ),
        (
            CALL,
            [datetime(2024, 1, 1, tzinfo=CENTER_TZ), NOW],
            [datetime(2023, 11, 1, tzinfo=CENTER_TZ), NOW + timedelta(minutes=6)],
        ),
        (
            SESSION_PLAN,
            [NOW - timedelta(minutes=14), NOW + timedelta(days=364)],
            [NOW - timedelta(minutes=16), NOW + timedelta(days=366)],
        ),
        (
            HELD,
            [NOW - timedelta(days=89), NOW],
            [NOW - timedelta(days=91), NOW + timedelta(hours=1)],
        ),
        (
            PAST,
            [date(2018, 1, 1), NOW.date()],
            [date(2017, 12, 31), NOW.date() + timedelta(days=1)],
        ),
        (
            PLAN,
            [date(2018, 1, 1), NOW.date() + timedelta(days=366)],
            [date(2017, 12, 31), NOW.date() + timedelta(days=367)],
        ),
        (TERM, [NOW.date() + timedelta(days=365 * 9)], [NOW.date() + timedelta(days=365 * 11)]),
        (YEARS, [date(2000, 1, 1), date(2100, 12, 31)], [date(1999, 12, 31), date(2101, 1, 1)]),
    ],
)
def test_window_bounds(window: Window, inside: list[Any], outside: list[Any]) -> None:
    """Defaults: disputes 30 years back; calls not before the hotline opened (2020-04) nor
    past the 1096-day retention; sessions planned up to 365 days ahead, recorded up to 90
    days after; the center's records from 2018; plans 366 days ahead; terms 10 years."""
    settings = Settings(_env_file=None)
    for value in inside:
        assert window.problem(value, NOW, settings) is None, value
    for value in outside:
        problem = window.problem(value, NOW, settings)
        assert problem is not None and problem.startswith("must lie between"), value


def test_windows_are_settings_where_horizons_differ() -> None:
    far = NOW + timedelta(days=500)
    assert SESSION_PLAN.problem(far, NOW, Settings(_env_file=None)) is not None
    longer = Settings(MEDIATION_SESSION_MAX_DAYS_AHEAD=730, _env_file=None)
    assert SESSION_PLAN.problem(far, NOW, longer) is None
    opened = Settings(MEDIATION_HOTLINE_OPENED_ON=date(2025, 1, 1), _env_file=None)
    problem = CALL.problem(datetime(2024, 6, 1, tzinfo=CENTER_TZ), NOW, opened)
    assert problem is not None and "2025-01-01" in problem
