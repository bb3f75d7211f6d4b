"""Mediation sessions: scheduling under a case, lists (by case, mediator, place, date range),
reading, changes, reschedule, cancel, outcome. The iCalendar feed is in `feed.py`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.contracts.common import Page
from mediation.contracts.etag import etag_of
from mediation.contracts.windows import QueryTime
from mediation.errors import Unprocessable
from mediation.sessions.enums import SessionKind, SessionMode, SessionSort, SessionStatus
from mediation.sessions.models import MediationSession
from mediation.sessions.rules import place_key
from mediation_api.actions import action_route, context_action, context_create
from mediation_api.cases.reads import subtree_filter
from mediation_api.deps import State, require
from mediation_api.pagination import (
    CURSOR_INVALID,
    DEFAULT,
    Cursor,
    Limit,
    build_page,
    cursor_int,
    cursor_values,
)
from mediation_api.problems import responses
from mediation_api.query import WINDOW_INVALID
from mediation_api.record_context import RecordContext, context_dependency
from mediation_api.replicas import list_connection
from mediation_api.sessions.contracts import (
    CancelIn,
    HeldSessionIn,
    OutcomeIn,
    RescheduleIn,
    SessionCreate,
    SessionEventOut,
    SessionListItem,
    SessionOut,
    SessionUpdate,
)
from mediation_api.sessions.feed import router as feed_router
from mediation_api.sessions.reads import list_page_json, session_page
from mediation_api.sessions.repository import SessionFilters
from mediation_api.sessions.service import SessionService
from mediation_api.sessions.views import event_out, list_item, session_out

router = APIRouter(tags=["sessions"])

CaseId = Annotated[uuid.UUID, Path(description="The case's id.")]
SESSION_ID_DOC = "The session's id."
SessionId = Annotated[uuid.UUID, Path(description=SESSION_ID_DOC)]

CHANGE_ERRORS = responses(401, 403, 404, 409, 412, 422, 428)
READ_ERRORS = responses(401, 403, 404, 422)
_DOUBLE = (
    " A mediator or room already booked at an overlapping time is a 409 `double-booking` "
    "problem naming the other session "
    "(`conflicting_session_id`); the database refuses it, so two requests at the same moment "
    "cannot both win."
)
_CHANGE_NOTE = " Needs If-Match (428 without, 412 if stale)." + _DOUBLE


@dataclass
class SessionContext(RecordContext[SessionService, MediationSession]):
    service_type = SessionService
    records_at = "/api/v1/sessions"

    async def out(self, ms: MediationSession) -> SessionOut:
        await self.session.flush()  # server-set columns (updated_at) come back by RETURNING
        return await session_out(self.session, self.service.repo, ms, self.principal)


ReadPrincipal = Annotated[Principal, Depends(require(Permission.sessions_read))]
WritePrincipal = Annotated[Principal, Depends(require(Permission.sessions_write))]
Reader = Annotated[SessionContext, Depends(context_dependency(SessionContext, ReadPrincipal))]
Writer = Annotated[SessionContext, Depends(context_dependency(SessionContext, WritePrincipal))]

StatusQ = Annotated[list[SessionStatus] | None, Query(description="Statuses.")]
KindQ = Annotated[list[SessionKind] | None, Query(description="Kinds of mediation.")]
ModeQ = Annotated[list[SessionMode] | None, Query(description="Modes.")]
FromQ = Annotated[
    QueryTime | None, Query(description="Sessions still running at or after this time.")
]
ToQ = Annotated[QueryTime | None, Query(description="Sessions starting before this time.")]
SortQ = Annotated[SessionSort, Query(description="Order by start time.")]


def _after(filters: SessionFilters, sort: SessionSort, cursor: str | None) -> dict[str, Any] | None:
    """The position a list page starts after (checked), from its cursor."""
    if (
        filters.starts_from is not None
        and filters.starts_to is not None
        and filters.starts_to <= filters.starts_from
    ):
        raise Unprocessable(
            "`starts_to` must be after `starts_from`.", field="query.starts_to", code=WINDOW_INVALID
        )
    after = cursor_values(cursor, "s", "t", "i")
    if after is not None and after["s"] != sort.value:
        raise Unprocessable(
            "The cursor belongs to another sort order.", field="query.cursor", code=CURSOR_INVALID
        )
    return after


def _key(sort: SessionSort, starts_at: datetime, ident: uuid.UUID) -> dict[str, str]:
    return {"s": sort.value, "t": starts_at.isoformat(), "i": str(ident)}


async def _page(
    ctx: SessionContext, filters: SessionFilters, sort: SessionSort, limit: int, cursor: str | None
) -> Page[SessionListItem]:
    after = _after(filters, sort, cursor)
    rows = await ctx.service.repo.page(ctx.principal, filters, sort, after, limit)
    items, next_cursor = build_page(rows, limit, lambda m: _key(sort, m.starts_at, m.id))
    return Page[SessionListItem](items=[list_item(m) for m in items], next_cursor=next_cursor)


# --- under a case ---------------------------------------------------------------------------
# A row: (path after the prefix, operation, summary, description, body, service method)
Row = tuple[str, str, str, str, type, str]


def _declare(rows: list[Row], prefix: str, id_name: str, id_doc: str, *, create: bool) -> None:
    """Each row a route answered with the session: a creation under a case (201, no
    If-Match) or a change of a session (If-Match). Both support `Idempotency-Key`."""
    for path, operation, summary, doc, body_type, method in rows:
        action_route(
            router,
            f"{prefix}{path}",
            id_name=id_name,
            id_description=id_doc,
            body=body_type,
            precondition=not create,
            deps=[("ctx", Writer)],
            handle=(context_create if create else context_action)(method),
            operation_id=operation,
            summary=summary,
            description=doc,
            response_model=SessionOut,
            **(
                {"status_code": 201, "responses": responses(401, 403, 404, 409, 422)}
                if create
                else {"responses": CHANGE_ERRORS}
            ),
        )


SESSION_CREATES: list[Row] = [
    (
        "",
        "sessions-create",
        "Schedule a session (安排调解会)",
        "A session of an accepted, assigned or in-mediation case (another status is a "
        "409 naming it). Mediators must hold a mediating role covering the case's place: people's "
        "mediator, judicial mediator, community police officer, legal advisor or counselor "
        "(422 otherwise); 警民联调 needs a police officer, judicial and pre-litigation mediation a "
        "judicial mediator. End before start is a 422. Mediators and invited parties are told "
        "(`session.scheduled`) and reminded a day and an hour before. Dispatchers, the case's "
        "handlers. Supports `Idempotency-Key`." + _DOUBLE,
        SessionCreate,
        "create",
    ),
    (
        "/held",
        "sessions-record-held",
        "Record a session held already (补录调解会, e.g. 当场调解)",
        "On-the-spot mediation (当场调解/现场调解), or any session held without being "
        "planned here, recorded afterwards in one action: who mediated, when (in the past, at most "
        "`MEDIATION_SESSION_MAX_DAYS_BACK` days ago, 90 by default; not before the dispute "
        "happened), where, who attended, the summary of the mediation record and the outcome. The "
        "session is `held` at once and counts like any held session (statistics, the case's "
        "timeline, the case file); its mediators and room are booked for that time (a clash with "
        "another session is a 409 `double-booking`). The outcome `agreement` records the "
        "agreement and resolves the case (starting mediation first if it is still `assigned`) in "
        "the same transaction, exactly as `sessions-record-outcome` does; nothing is written when "
        "the case cannot be resolved. Nobody is notified or reminded of a meeting that is over. "
        "Dispatchers, the case's handlers. Supports `Idempotency-Key`.",
        HeldSessionIn,
        "record_held",
    ),
]
_declare(SESSION_CREATES, "/cases/{case_id}/sessions", "case_id", "The case's id.", create=True)


@router.get(
    "/cases/{case_id}/sessions",
    operation_id="sessions-list-for-case",
    summary="Sessions of a case",
    description="Every session of the case, earliest first unless `sort` says otherwise.",
    responses=READ_ERRORS,
)
async def list_case_sessions(
    case_id: CaseId,
    ctx: Reader,
    status: StatusQ = None,
    sort: SortQ = SessionSort.soonest,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[SessionListItem]:
    await ctx.service.case(case_id)  # 404 outside the jurisdiction
    filters = SessionFilters(case_id=case_id, status=status or [])
    return await _page(ctx, filters, sort, limit, cursor)


# --- sessions ---------------------------------------------------------------------------
@router.get(
    "/sessions",
    operation_id="sessions-list",
    summary="List sessions",
    description="Sessions in the caller's jurisdiction: by case, by mediator, by place (the "
    "room as the booking rule compares it: spaces and letter case do not matter), by date "
    "range (sessions overlapping [`starts_from`, `starts_to`)), status, kind, mode, subtree. "
    "Cursor pagination.",
    response_model=Page[SessionListItem],
    responses=responses(401, 403, 422),
)
async def list_sessions(
    state: State,
    principal: ReadPrincipal,
    case_id: Annotated[uuid.UUID | None, Query(description="Sessions of this case.")] = None,
    mediator: Annotated[
        uuid.UUID | None, Query(description="Sessions this person mediates.")
    ] = None,
    place: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Room or place.")
    ] = None,
    starts_from: FromQ = None,
    starts_to: ToQ = None,
    status: StatusQ = None,
    kind: KindQ = None,
    mode: ModeQ = None,
    unit_id: Annotated[uuid.UUID | None, Query(description="Only this subtree.")] = None,
    sort: SortQ = SessionSort.soonest,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Response:
    filters = SessionFilters(
        case_id=case_id,
        mediator=mediator,
        place_key=place_key(place),
        status=status or [],
        kind=kind or [],
        mode=mode or [],
        starts_from=starts_from,
        starts_to=starts_to,
    )
    after = _after(filters, sort, cursor)
    # One statement on the read pool (or a fit replica): no ORM transaction for a list.
    async with list_connection(state, principal) as conn:
        if unit_id is not None:
            filters.subtree_path = await subtree_filter(conn, unit_id, principal)
        rows = await session_page(conn, principal, filters, sort, after, limit)
    items, next_cursor = build_page(rows, limit, lambda r: _key(sort, r["starts_at"], r["id"]))
    return Response(list_page_json(items, next_cursor), media_type="application/json")


@router.get(
    "/sessions/{session_id}",
    operation_id="sessions-get",
    summary="Read a session",
    description="The session with its mediators, invited parties (masked unless the caller "
    "may read personal data; unmasked reads are logged), outcome and history. ETag for "
    "later changes.",
    responses=READ_ERRORS,
)
async def get_session(session_id: SessionId, ctx: Reader, response: Response) -> SessionOut:
    ms = await ctx.service.get(session_id)
    response.headers["ETag"] = etag_of(ms.id, ms.version)
    return await ctx.out(ms)


@router.get(
    "/sessions/{session_id}/timeline",
    operation_id="sessions-timeline",
    summary="A session's history",
    description="Everything that happened to the session in order (`seq`, 1 is `scheduled`), "
    "a page at a time, like every timeline. The session's read also carries it whole.",
    responses=READ_ERRORS,
)
async def session_timeline(
    session_id: SessionId, ctx: Reader, limit: Limit = DEFAULT, cursor: Cursor = None
) -> Page[SessionEventOut]:
    ms = await ctx.service.get(session_id)
    after = cursor_int(cursor_values(cursor, "s"), "s")
    rows = await ctx.service.repo.events(ms.id, after, limit)
    items, next_cursor = build_page(rows, limit, lambda e: {"s": e.seq})
    return Page[SessionEventOut](items=[event_out(e) for e in items], next_cursor=next_cursor)


action_route(
    router,
    "/sessions/{session_id}",
    method="patch",
    id_name="session_id",
    id_description=SESSION_ID_DOC,
    body=SessionUpdate,
    deps=[("ctx", Writer)],
    handle=context_action("update"),
    operation_id="sessions-update",
    summary="Change a scheduled session's details",
    description="Kind, mediators (booked again; new ones are told, removed ones told it is "
    "off for them), invited parties, public or private, recording consent, rights notice, "
    "notes. Time and place change through `reschedule`." + _CHANGE_NOTE,
    response_model=SessionOut,
    responses=CHANGE_ERRORS,
)


SESSION_ACTIONS: list[Row] = [
    (
        "reschedule",
        "sessions-reschedule",
        "Move a session (改期)",
        "New time (and place or mode), with a reason. The history keeps the old time; "
        "participants are told (`session.rescheduled`); reminders follow the new time only."
        + _CHANGE_NOTE
        + " Supports `Idempotency-Key`.",
        RescheduleIn,
        "reschedule",
    ),
    (
        "cancel",
        "sessions-cancel",
        "Cancel a session (取消)",
        "With a reason. Mediators and room are free again; participants are told "
        "(`session.cancelled`); no reminder follows; the calendar feed drops it. Needs "
        "If-Match. Supports `Idempotency-Key`.",
        CancelIn,
        "cancel",
    ),
    (
        "outcome",
        "sessions-record-outcome",
        "Record attendance, minutes and outcome",
        "Once the session has started, and not when it started before the dispute happened "
        "(422 `session-before-dispute`, the case's `occurred_at` corrected since it was "
        "planned): who attended, the summary of the mediation record "
        "(调解笔录), outcome (agreement, partial, none, postponed), next step and when it really "
        "ended (`ended_at`): the bookings follow the real end, so the time of a session that "
        "ended early is free again, one that ran over holds its mediators and room until it "
        "ended (an overrun stops where another of their sessions begins), and a mediator who "
        "did not attend is free for that time. The outcome `agreement` records the agreement "
        "on the case and resolves it (starting mediation first if the case is still "
        "`assigned`) in the same transaction; when the case cannot be resolved (its state, the "
        "caller's rights) nothing is written. Needs If-Match. Supports `Idempotency-Key`.",
        OutcomeIn,
        "record_outcome",
    ),
]
_declare(SESSION_ACTIONS, "/sessions/{session_id}/", "session_id", SESSION_ID_DOC, create=False)


# The feed's fixed path first, so no `/sessions/{session_id}...` route ever shadows it.
routers = [feed_router, router]
