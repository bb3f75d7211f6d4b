"""Dispute cases: intake, lists, one typed endpoint per life-cycle action, parties, agreement,
follow-ups, timeline and comments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from asyncpg import Record
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from mediation.auth.access_log import record_access
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.cases.contracts import (
    CATEGORY_CODE,
    AcceptIn,
    AgreementOut,
    AssignIn,
    CaseCreate,
    CaseEventOut,
    CaseListItem,
    CaseOut,
    CaseUpdate,
    CommentIn,
    EscalateIn,
    ExtendIn,
    FailIn,
    FollowUpIn,
    FollowUpOut,
    JudicialConfirmationIn,
    NoteIn,
    PartyIn,
    PartyOut,
    PartyUpdate,
    PerformanceIn,
    PerformanceOut,
    ReasonIn,
    ResolveIn,
    TransferIn,
)
from mediation.cases.enums import (
    CaseEventType,
    CaseSort,
    CaseSource,
    CaseStatus,
    Complexity,
    MediationChannel,
    RiskColour,
)
from mediation.cases.models import Case, CaseEvent
from mediation.clock import center_date
from mediation.contracts.common import Contract, Page
from mediation.contracts.etag import etag_of
from mediation.contracts.windows import QueryTime
from mediation.db import driver_connection
from mediation.errors import NotFound
from mediation.reference.data import ReferenceKind
from mediation_api.actions import ActionCall, action_route, context_action
from mediation_api.cases.change import Changed
from mediation_api.cases.reads import (
    case_page,
    case_view_json,
    case_view_row,
    list_page_json,
    subtree_filter,
    unknown_codes,
)
from mediation_api.cases.repository import CaseFilters
from mediation_api.cases.service import NOT_FOUND, CaseService
from mediation_api.cases.views import party_out, timeline_types
from mediation_api.conditional import NOT_MODIFIED, IfNoneMatch, not_modified
from mediation_api.deps import CurrentPrincipal, Session, demand, require
from mediation_api.pagination import (
    DEFAULT,
    Cursor,
    Limit,
    build_page,
    cursor_int,
    cursor_of_order,
    cursor_values,
)
from mediation_api.problems import responses
from mediation_api.record_context import RecordContext, context_dependency
from mediation_api.reference.service import unknown_codes as reference_codes
from mediation_api.replicas import list_connection
from mediation_api.shown import shown
from mediation_api.state import AppState
from mediation_api.visibility import Visibility, Visible

router = APIRouter(prefix="/cases", tags=["cases"])

CaseId = Annotated[uuid.UUID, Path(description="The case's id.")]
PartyId = Annotated[uuid.UUID, Path(description="The party's id.")]

CHANGE_ERRORS = responses(401, 403, 404, 409, 412, 422, 428)
READ_ERRORS = responses(401, 403, 404, 422)


@dataclass
class CaseContext(RecordContext[CaseService, Case | Changed]):
    """What every case route needs: the transaction, the clock, the caller."""

    service_type = CaseService
    records_at = "/api/v1/cases"

    def visibility(self) -> Visibility:
        today = center_date(self.clock.now())
        return Visibility(self.session, self.principal, today)

    async def out(self, case: Case | Changed) -> bytes:
        await self.session.flush()
        # The changed case as the caller sees it, read inside this transaction.
        # The caller may have just moved it out of their jurisdiction: still show the result.
        conn = await driver_connection(self.session)
        now = self.clock.now()
        row = await case_view_row(conn, case.id, self.principal, now, scoped=False)
        assert row is not None  # flushed in this transaction
        return case_view_json(row, self.principal, now)


ReadPrincipal = Annotated[Principal, Depends(require(Permission.cases_read))]
CreatePrincipal = Annotated[Principal, Depends(require(Permission.cases_create))]
Reader = Annotated[CaseContext, Depends(context_dependency(CaseContext, ReadPrincipal))]


@dataclass
class PoolReader:
    """For the hottest reads: the caller and the read pool, no ORM session."""

    state: AppState
    principal: Principal


async def _pool_reader(request: Request, principal: CurrentPrincipal) -> PoolReader:
    # The permission checked here and the state taken from the app, not as `require` and
    # `State` dependencies: FastAPI resolves every dependency of every request, and these
    # are the hottest reads.
    demand(principal, Permission.cases_read)
    return PoolReader(request.app.state.mediation, principal)


_pool_reader.permission = Permission.cases_read  # type: ignore[attr-defined]  # as `require`


Lookup = Annotated[PoolReader, Depends(_pool_reader)]
Creator = Annotated[CaseContext, Depends(context_dependency(CaseContext, CreatePrincipal))]


# --- intake and reading -------------------------------------------------------------------
async def _create(call: ActionCall) -> Response:
    ctx: CaseContext = call.deps["ctx"]
    case, created = await ctx.service.create(call.body)
    # A client's repeated external_ref answers its earlier case: 200, not 201.
    return await ctx.respond(call.idem, case, 201 if created else 200, location=True)


action_route(
    router,
    "",
    body=CaseCreate,
    precondition=False,
    deps=[("ctx", Creator)],
    handle=_create,
    operation_id="cases-create",
    summary="Register a dispute",
    description="Intake from any source. The case gets a number unique per district and "
    "year (e.g. 铁西调〔2026〕0001号), its first-response deadline, and links to earlier "
    "cases within 180 days sharing a party's phone or ID number or the building (repeat "
    "dispute). An integration client repeating an `external_ref` gets its earlier case "
    "(200) instead of a new one. Supports `Idempotency-Key`.",
    status_code=201,
    response_model=CaseOut,
    responses={
        **responses(401, 403, 409, 422),
        200: {
            "model": CaseOut,
            "description": "The case this client already sent with the same external_ref.",
        },
    },
)


@router.get(
    "",
    operation_id="cases-list",
    summary="List cases",
    description="Cases in the caller's jurisdiction, filtered by typed parameters (repeat a "
    "parameter for several values) and searched with `q` over title, facts and claims — and "
    "party names for readers allowed personal data. Cursor pagination.",
    response_model=Page[CaseListItem],
    responses=responses(401, 403, 422),
)
async def list_cases(
    lookup: Lookup,
    status: Annotated[list[CaseStatus] | None, Query(description="Statuses.")] = None,
    category: Annotated[
        list[Annotated[str, Query(pattern=CATEGORY_CODE)]] | None,
        Query(description="Category codes (`dispute_category`; one that does not exist: 422)."),
    ] = None,
    source: Annotated[list[CaseSource] | None, Query(description="Sources.")] = None,
    channel: Annotated[list[MediationChannel] | None, Query(description="Channels.")] = None,
    risk_colour: Annotated[list[RiskColour] | None, Query(description="Risk colours.")] = None,
    complexity: Annotated[list[Complexity] | None, Query(description="Complexities.")] = None,
    unit_id: Annotated[uuid.UUID | None, Query(description="Only this subtree.")] = None,
    handler: Annotated[uuid.UUID | None, Query(description="Handled by this person.")] = None,
    overdue: Annotated[bool | None, Query(description="Running deadline passed.")] = None,
    due_before: Annotated[QueryTime | None, Query(description="Due before.")] = None,
    received_from: Annotated[QueryTime | None, Query(description="Received at or after.")] = None,
    received_to: Annotated[QueryTime | None, Query(description="Received before.")] = None,
    closed_from: Annotated[QueryTime | None, Query(description="Closed at or after.")] = None,
    closed_to: Annotated[QueryTime | None, Query(description="Closed before.")] = None,
    repeat: Annotated[bool | None, Query(description="Repeat disputes only (or none).")] = None,
    external_ref: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=r"^[\x21-\x7e]+$",
            description="The case an integration client registered with this `external_ref` "
            "(its own references; staff: any client's).",
        ),
    ] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Text to find (Chinese works).")
    ] = None,
    sort: Annotated[
        CaseSort, Query(description="Order; `due_soonest` lists cases with a running deadline.")
    ] = CaseSort.newest,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Response:
    principal = lookup.principal
    after = cursor_of_order(cursor, "s", sort.value, "s", "i")
    filters = CaseFilters(
        status=status or [],
        category=category or [],
        source=source or [],
        channel=channel or [],
        risk_colour=risk_colour or [],
        complexity=complexity or [],
        handler=handler,
        overdue=overdue,
        due_before=due_before,
        received_from=received_from,
        received_to=received_to,
        closed_from=closed_from,
        closed_to=closed_to,
        repeat=repeat,
        q=q.strip() if q else None,
        search_party_names=principal.can(Permission.pii_read),
        external_ref=external_ref,
        external_client=principal.id if principal.kind == "client" else None,
    )
    now = lookup.state.clock.now()
    async with list_connection(lookup.state, principal) as conn:  # a replica when one is fit
        if category and (
            missing := await unknown_codes(conn, ReferenceKind.dispute_category.value, category)
        ):
            raise reference_codes(ReferenceKind.dispute_category, missing, "query.category")
        if unit_id is not None:
            filters.subtree_path = await subtree_filter(conn, unit_id, principal)
        rows = await case_page(conn, principal, filters, sort, after, limit, now)

    def key(c: Record) -> dict[str, object]:
        if sort is CaseSort.due_soonest:
            return {"s": sort.value, "d": c["due_at"].isoformat(), "i": str(c["id"])}
        return {"s": sort.value, "r": c["received_at"].isoformat(), "i": str(c["id"])}

    items, next_cursor = build_page(rows, limit, key)
    return Response(list_page_json(items, next_cursor, now), media_type="application/json")


@router.get(
    "/{case_id}",
    operation_id="cases-get",
    summary="Read a case",
    description="The case with parties (masked unless the caller may read personal "
    "data; unmasked reads are logged), handlers, deadlines, agreement and related "
    "cases. ETag for later changes.",
    response_model=CaseOut,
    responses={**NOT_MODIFIED, **READ_ERRORS},
)
async def get_case(case_id: CaseId, lookup: Lookup, if_none_match: IfNoneMatch = None) -> Response:
    now = lookup.state.clock.now()
    async with lookup.state.reads.acquire() as conn:
        row = await case_view_row(conn, case_id, lookup.principal, now)
    if row is None:
        raise NotFound(NOT_FOUND)
    etag = etag_of(row["id"], row["version"])
    return not_modified(if_none_match, etag) or Response(
        case_view_json(row, lookup.principal, now),
        media_type="application/json",
        headers={"ETag": etag},
    )


action_route(
    router,
    "/{case_id}",
    method="patch",
    id_name="case_id",
    id_description="The case's id.",
    body=CaseUpdate,
    deps=[("ctx", Reader)],
    handle=context_action("update"),
    operation_id="cases-update",
    summary="Change a case's details",
    description="Title, facts, claims, category, complexity (recomputes the running "
    "deadline), risk colour, place details, amount, prevention flags. Needs "
    "If-Match. Status changes use the action endpoints.",
    response_model=CaseOut,
    responses=CHANGE_ERRORS,
)


# --- actions: one endpoint per transition ---------------------------------------------------
_ACTION_NOTE = (
    " Needs If-Match (428 without, 412 if stale); an action the case's state does "
    "not allow is a 409 whose `allowed_actions` lists what is allowed now. "
    "Supports `Idempotency-Key`."
)


def _action_doc(text: str) -> str:
    return text + _ACTION_NOTE


# (path, operation, summary, what it does and who may, body, service method)
CASE_ACTIONS: list[tuple[str, str, str, str, type, str]] = [
    (
        "accept",
        "cases-accept",
        "Accept (受理)",
        (
            "received → accepted. Meets the first-response "
            "deadline and starts the mediation deadline. Dispatchers."
        ),
        AcceptIn,
        "accept",
    ),
    (
        "reject",
        "cases-reject",
        "Reject (不予受理)",
        "received → rejected, with a reason. Dispatchers.",
        ReasonIn,
        "reject",
    ),
    (
        "assign",
        "cases-assign",
        "Assign (分派)",
        (
            "accepted → assigned: one or more handlers, each through "
            "a channel; handlers must hold a handling role covering "
            "the case's place. Dispatchers."
        ),
        AssignIn,
        "assign",
    ),
    (
        "transfer",
        "cases-transfer",
        "Transfer (移交)",
        (
            "Hands the case to other handlers (assigned or in "
            "mediation → assigned). Dispatchers or its handlers."
        ),
        TransferIn,
        "transfer",
    ),
    (
        "escalate",
        "cases-escalate",
        "Escalate (上报)",
        (
            "Moves the handling up the tree to the nearest higher "
            "level with dispatchers (or `target_unit_id`); handlers "
            "step down and that level assigns it again. Dispatchers "
            "or its handlers."
        ),
        EscalateIn,
        "escalate",
    ),
    (
        "start-mediation",
        "cases-start-mediation",
        "Start mediation (开始调解)",
        "assigned → in_mediation. Dispatchers or its handlers.",
        NoteIn,
        "start_mediation",
    ),
    (
        "resolve",
        "cases-resolve",
        "Resolve with an agreement (调解成功)",
        (
            "in_mediation → resolved, recording the agreement; the "
            "follow-up deadline starts and the 30-day window for "
            "judicial confirmation opens. Dispatchers or handlers."
        ),
        ResolveIn,
        "resolve",
    ),
    (
        "fail",
        "cases-fail",
        "Fail and refer on (调解不成)",
        (
            "in_mediation → failed, naming where the case goes "
            "(litigation, arbitration, another department). "
            "Dispatchers or its handlers."
        ),
        FailIn,
        "fail",
    ),
    (
        "withdraw",
        "cases-withdraw",
        "Withdraw (撤回)",
        "Any open status → withdrawn, with a reason. Dispatchers or its handlers.",
        ReasonIn,
        "withdraw",
    ),
    (
        "follow-ups",
        "cases-follow-up",
        "Record a follow-up visit (回访)",
        (
            "resolved or failed → followed_up: performance, "
            "satisfaction, risk of flare-up. Meets the follow-up "
            "deadline. Dispatchers or its handlers."
        ),
        FollowUpIn,
        "follow_up",
    ),
    (
        "close",
        "cases-close",
        "Close (结案)",
        "followed_up (or failed) → closed. Needs `cases:close`.",
        NoteIn,
        "close",
    ),
    (
        "reopen",
        "cases-reopen",
        "Reopen",
        "closed → accepted; rejected or withdrawn → received. A new deadline starts. Dispatchers.",
        ReasonIn,
        "reopen",
    ),
    (
        "pause",
        "cases-pause",
        "Pause the clock (waiting on a party)",
        (
            "The running deadline stops until `resume`; the time "
            "paused is added to it. Dispatchers or its handlers."
        ),
        ReasonIn,
        "pause",
    ),
    (
        "resume",
        "cases-resume",
        "Resume the clock",
        "The deadline moves by the working days paused. Dispatchers or its handlers.",
        NoteIn,
        "resume",
    ),
    (
        "extend-deadline",
        "cases-extend-deadline",
        "Extend the running deadline",
        (
            "Adds time in the rule's unit, with a reason; mediation "
            "needs both parties' agreement. Dispatchers or handlers."
        ),
        ExtendIn,
        "extend",
    ),
]


def _case_change(
    path: str, operation: str, summary: str, description: str, body_type: type, method: str
) -> None:
    """`POST /cases/{case_id}/<path>`: the service's `method` changes the case (If-Match,
    Idempotency-Key) and the answer is the case."""
    action_route(
        router,
        f"/{{case_id}}/{path}",
        id_name="case_id",
        id_description="The case's id.",
        body=body_type,
        deps=[("ctx", Reader)],
        handle=context_action(method),
        operation_id=operation,
        summary=summary,
        description=description,
        response_model=CaseOut,
        responses=CHANGE_ERRORS,
    )


for path, operation, summary, doc, body_type, method in CASE_ACTIONS:
    _case_change(path, operation, summary, _action_doc(doc), body_type, method)


# --- sub-resources --------------------------------------------------------------------------
@router.get(
    "/{case_id}/timeline",
    operation_id="cases-timeline",
    summary="Timeline",
    description="Every change in order (`seq`, 1 is `created`): who, when, what, through "
    "which client. Details name other records (a repeat's earlier cases, the call or opinion "
    "the case came from) only to readers of those records. The case's mediation sessions are "
    "on it too (`session_scheduled`, `session_updated`, `session_rescheduled`, `session_held`, "
    "`session_cancelled`, with the session's id, time and place in `data`) for readers who may "
    "read sessions. A later change of the hotline call the case was opened from (corrected, "
    "acknowledged, reviewed, a file added or removed, or de-identified after the retention "
    "period, by `system`) is a `hotline_call_changed` entry: who and when, nothing of the call "
    "(`data.hotline_call_id` only to readers of the call). An "
    "answer or closing of the resident's opinion it was turned from is an `opinion_changed` "
    "entry: who, when, the opinion's new status (`data.opinion_status`), not the answer "
    "(`data.opinion_id` only to readers of the opinion).",
    responses=READ_ERRORS,
)
async def timeline(
    case_id: CaseId,
    ctx: Reader,
    type: Annotated[list[CaseEventType] | None, Query(description="Only these types.")] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[CaseEventOut]:
    return await _events(ctx, case_id, type, limit, cursor)


async def _events(
    ctx: CaseContext,
    case_id: uuid.UUID,
    asked: list[CaseEventType] | None,
    limit: int,
    cursor: str | None,
) -> Page[CaseEventOut]:
    case = await ctx.service.get(case_id)
    types = timeline_types(ctx.principal, asked)
    after = cursor_values(cursor, "s")
    rows = (
        await ctx.service.repo.events(
            case.id, types=types, limit=limit, after=cursor_int(after, "s")
        )
        if types != []
        else []
    )
    items, next_cursor = build_page(rows, limit, lambda e: {"s": e.seq})
    # Entries name other records (repeats, the call or opinion a case came from): the reader
    # sees only those they may read themselves.
    seen = await ctx.visibility().of_details(e.data for e in items)
    return Page[CaseEventOut](items=[_event_out(e, seen) for e in items], next_cursor=next_cursor)


def _event_out(e: CaseEvent, seen: Visible) -> CaseEventOut:
    return shown(
        CaseEventOut,
        e,
        data=seen.present(e.data),
        actor={
            "kind": e.actor_kind,
            "id": e.actor_id,
            "name": e.actor_name,
            "client_id": e.client_id,
        },
    )


@router.get(
    "/{case_id}/comments",
    operation_id="cases-comments-list",
    summary="Comments",
    description="The comments of the timeline.",
    responses=READ_ERRORS,
)
async def list_comments(
    case_id: CaseId, ctx: Reader, limit: Limit = DEFAULT, cursor: Cursor = None
) -> Page[CaseEventOut]:
    return await _events(ctx, case_id, [CaseEventType.commented], limit, cursor)


async def _comment(call: ActionCall) -> Response:
    event = await call.deps["ctx"].service.comment(call.record_id, call.body)
    return await call.answer(_event_out(event, Visible()), 201)


action_route(
    router,
    "/{case_id}/comments",
    id_name="case_id",
    id_description="The case's id.",
    body=CommentIn,
    precondition=False,  # comments do not change the case's version
    deps=[("ctx", Reader), ("session", Session)],
    handle=_comment,
    operation_id="cases-comments-create",
    summary="Comment",
    description="Adds a comment to the timeline. Any reader of the case; no If-Match "
    "(comments do not change the case's version). Supports `Idempotency-Key`.",
    status_code=201,
    response_model=CaseEventOut,
    responses=responses(401, 403, 404, 409, 422),
)


@router.get(
    "/{case_id}/parties",
    operation_id="cases-parties-list",
    summary="Parties",
    description="Masked unless the caller may read personal data (then logged).",
    responses=READ_ERRORS,
)
async def list_parties(case_id: CaseId, ctx: Reader) -> list[PartyOut]:
    case = await ctx.service.get(case_id)
    parties = await ctx.service.repo.parties(case.id)
    unmasked = ctx.principal.can(Permission.pii_read)
    if unmasked and parties:
        record_access(
            ctx.session,
            ctx.principal,
            action="read_unmasked",
            record_type="case",
            record_id=case.id,
            subject_ids=[p.id for p in parties],
            case_number=case.number,
        )
    return [party_out(p, unmasked) for p in parties]


_case_change(
    "parties",
    "cases-parties-add",
    "Add a party",
    "Needs If-Match with the case's ETag; answers the case. A party the case already has "
    "(equal in every field, a field left out counting as empty; phone and ID number however "
    "written) is refused with 409 `party-exists`, its id in `party_id`; nothing changes.",
    PartyIn,
    "add_party",
)


async def _update_party(call: ActionCall) -> Response:
    ctx: CaseContext = call.deps["ctx"]
    party_id = call.deps["party_id"]
    case = await ctx.service.update_party(call.record_id, party_id, call.body, call.if_match)
    return await ctx.respond(call.idem, case)


async def _remove_party(call: ActionCall) -> Response:
    ctx: CaseContext = call.deps["ctx"]
    case = await ctx.service.remove_party(call.record_id, call.deps["party_id"], call.if_match)
    return await ctx.respond(call.idem, case)


for method, body_type, handle, operation, summary, description in (
    (
        "patch",
        PartyUpdate,
        _update_party,
        "cases-parties-update",
        "Change a party",
        "Needs If-Match with the case's ETag; the case keeps at least one applicant.",
    ),
    (
        "delete",
        None,
        _remove_party,
        "cases-parties-remove",
        "Remove a party",
        "Needs If-Match with the case's ETag; the last applicant cannot be removed.",
    ),
):
    action_route(
        router,
        "/{case_id}/parties/{party_id}",
        method=method,
        id_name="case_id",
        id_description="The case's id.",
        body=body_type,
        deps=[("party_id", PartyId), ("ctx", Reader)],
        handle=handle,
        operation_id=operation,
        summary=summary,
        description=description,
        response_model=CaseOut,
        responses=CHANGE_ERRORS,
    )


@router.get(
    "/{case_id}/agreement",
    operation_id="cases-agreement-get",
    summary="The agreement",
    description="404 while the case has none.",
    responses=READ_ERRORS,
)
async def get_agreement(case_id: CaseId, ctx: Reader) -> AgreementOut:
    case = await ctx.service.get(case_id)
    agreement = await ctx.service.repo.agreement(case.id)
    if agreement is None:
        raise NotFound("The case has no agreement.")
    return AgreementOut.model_validate(agreement)


def _case_rows(
    path: str, operation: str, summary: str, description: str, out: type[Contract], rows: str
) -> None:
    """`GET /cases/{case_id}/<path>`: the case's records of one kind, read with its
    repository's `rows` method, in the order it gives (404 outside the caller's scope)."""

    async def endpoint(case_id: CaseId, ctx: Reader) -> list[Any]:
        case = await ctx.service.get(case_id)
        return [out.model_validate(r) for r in await getattr(ctx.service.repo, rows)(case.id)]

    endpoint.__name__ = operation.replace("-", "_")
    router.get(
        f"/{{case_id}}/{path}",
        operation_id=operation,
        summary=summary,
        description=description,
        response_model=list[out],  # type: ignore[valid-type]
        responses=READ_ERRORS,
    )(endpoint)


_case_rows(
    "agreement/performances",
    "cases-performances-list",
    "Performance records",
    "How the agreement was performed.",
    PerformanceOut,
    "performances",
)


_case_change(
    "agreement/performances",
    "cases-performances-add",
    "Record performance (履行情况)",
    "Needs If-Match with the case's ETag; answers the case.",
    PerformanceIn,
    "add_performance",
)


_case_change(
    "agreement/judicial-confirmation",
    "cases-judicial-confirmation",
    "Record an application for judicial confirmation (司法确认)",
    "Within 30 days of the agreement taking effect (People's Mediation "
    "Law Art. 33), written agreements only. Needs If-Match; answers the case.",
    JudicialConfirmationIn,
    "judicial_confirmation",
)


_case_rows(
    "follow-ups",
    "cases-follow-ups-list",
    "Follow-up visits",
    "In visiting order.",
    FollowUpOut,
    "follow_ups",
)
