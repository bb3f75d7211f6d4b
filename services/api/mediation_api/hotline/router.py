"""The psychological hotline (心理热线): call logs, their timeline, the high-risk flag, supervisor
review, and the duty roster.

Who sees what: only counselors and workstation supervisors (permission `hotline:read`), and
only the calls of their own workstations. Nobody else can learn that a call exists: without
`hotline:read`, list routes answer 403 (there is no list for you) and every route about one
call or shift answers 404, exactly as for an id that does not exist; a call of another
workstation is a 404 too. Every call shown, in a list or alone, is written to the access log."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.contracts.common import Page
from mediation.contracts.etag import etag_of
from mediation.contracts.windows import QueryTime
from mediation.errors import NotFound, Unprocessable
from mediation.hotline.contracts import (
    AcknowledgeIn,
    CallCreate,
    CallEventOut,
    CallListItem,
    CallOut,
    CallUpdate,
    CoverageOut,
    DutyNowOut,
    DutyShiftCreate,
    DutyShiftOut,
    DutyShiftUpdate,
    OpenCaseIn,
    OpenCaseOut,
    ReviewIn,
)
from mediation.hotline.enums import CallSort, CallType, DutyRole, RiskLevel
from mediation_api.actions import ActionCall, Shown, action_route, change_route
from mediation_api.deps import CurrentPrincipal, IfMatch, Session, require
from mediation_api.domain_routes import Doc, RecordRoutes
from mediation_api.hotline.repository import CallFilters
from mediation_api.hotline.service import CALL_NOT_FOUND, SHIFT_NOT_FOUND, HotlineService
from mediation_api.pagination import (
    CURSOR_INVALID,
    DEFAULT,
    Cursor,
    Limit,
    build_page,
    cursor_int,
    cursor_of_order,
    cursor_values,
)
from mediation_api.problems import responses
from mediation_api.request_service import service_dependency

router = APIRouter(prefix="/hotline", tags=["hotline"])

P = Permission


def hidden_unless(
    permission: Permission, detail: str
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Like `require`, but answers 404: for routes about one record, a caller without the
    permission must not tell "forbidden" from "does not exist"."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise NotFound(detail)
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the access matrix
    dependency.hidden = True  # type: ignore[attr-defined]
    return dependency


Svc = Annotated[HotlineService, Depends(service_dependency(HotlineService))]
Reader = Annotated[Principal, Depends(require(P.hotline_read))]
Writer = Annotated[Principal, Depends(require(P.hotline_write))]
Rosterer = Annotated[Principal, Depends(require(P.hotline_review))]
CallReader = Annotated[Principal, Depends(hidden_unless(P.hotline_read, CALL_NOT_FOUND))]
CallWriter = Annotated[Principal, Depends(require(P.hotline_write))]
CallReviewer = Annotated[Principal, Depends(require(P.hotline_review))]
CaseCreator = Annotated[Principal, Depends(require(P.cases_create))]
ShiftReader = Annotated[Principal, Depends(hidden_unless(P.hotline_read, SHIFT_NOT_FOUND))]
CallId = Annotated[uuid.UUID, Path(description="The call's id.")]
ShiftId = Annotated[uuid.UUID, Path(description="The shift's id.")]
UnitQuery = Annotated[
    uuid.UUID | None,
    Query(description="The workstation (unit); defaults to yours when you have exactly one."),
]

HIDDEN = (
    "Callers without `hotline:read` get 404, as for a call that does not exist or "
    "belongs to another workstation."
)


def _time_key(values: dict[str, Any] | None) -> tuple[datetime, uuid.UUID] | None:
    """The (time, id) a list continues after, from its decoded cursor."""
    if not values:
        return None
    try:
        return datetime.fromisoformat(values["s"]), uuid.UUID(values["i"])
    except (TypeError, ValueError) as exc:
        raise Unprocessable(
            "The cursor is not one this service issued.", field="query.cursor", code=CURSOR_INVALID
        ) from exc


# --- calls --------------------------------------------------------------------------------


def _call_changed(method: str) -> Callable[..., Awaitable[Shown]]:
    """Changes a call with the service's `method`; the answer's read is logged as that
    action."""

    async def change(
        deps: dict[str, Any], record_id: uuid.UUID, body: Any, if_match: str | None
    ) -> Shown:
        service: HotlineService = deps["service"]
        call = await getattr(service, method)(record_id, body, if_match)
        return call, await service.call_out(call, action=method)

    return change


@router.get(
    "/calls",
    operation_id="hotline-calls-list",
    summary="List call logs",
    description="Calls of your workstations, newest first by default. Callback numbers are "
    "masked; no record text or assessment details. Each call listed is written to the access "
    "log. Without `hotline:read`: 403.",
    response_model=Page[CallListItem],
    responses=responses(401, 403, 404, 422),
)
async def list_calls(
    principal: Reader,
    service: Svc,
    unit_id: Annotated[uuid.UUID | None, Query(description="Only this workstation.")] = None,
    counselor_id: Annotated[uuid.UUID | None, Query(description="Taken by this person.")] = None,
    started_from: Annotated[QueryTime | None, Query(description="Started at or after.")] = None,
    started_before: Annotated[QueryTime | None, Query(description="Started before.")] = None,
    call_type: Annotated[CallType | None, Query(description="Kind of call.")] = None,
    risk_level: Annotated[RiskLevel | None, Query(description="Risk level.")] = None,
    imminent: Annotated[bool | None, Query(description="Imminent risk.")] = None,
    flagged: Annotated[
        bool | None, Query(description="true: flagged and waiting for acknowledgement.")
    ] = None,
    follow_up_pending: Annotated[
        bool | None, Query(description="true: a follow-up is due and not done.")
    ] = None,
    topic: Annotated[
        str | None,
        Query(max_length=60, description="Has this topic code (`hotline_topic`; unknown: 422)."),
    ] = None,
    minor: Annotated[bool | None, Query(description="Caller is a minor.")] = None,
    same_caller_as: Annotated[
        uuid.UUID | None,
        Query(
            description="Calls from the same number as this call (recognised by keyed hash; "
            "none when that call has no number or was de-identified); 404 if that call is not "
            "visible to you."
        ),
    ] = None,
    sort: Annotated[CallSort, Query(description="Order.")] = CallSort.newest,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Response:
    after = _time_key(cursor_of_order(cursor, "o", sort.value, "s", "i", "o"))
    filters = CallFilters(
        unit_id=unit_id,
        counselor_id=counselor_id,
        started_from=started_from,
        started_before=started_before,
        call_type=call_type,
        risk_level=risk_level,
        imminent=imminent,
        flagged=flagged,
        follow_up_pending=follow_up_pending,
        topic=topic,
        minor=minor,
    )
    # Two hand-written statements, the items written straight from the rows (hotline/reads).
    body = await service.list_json(filters, same_caller_as, sort, after, limit)
    return Response(body, media_type="application/json")


async def _create_call(call: ActionCall) -> Response:
    service: HotlineService = call.deps["service"]
    # The answer is kept with the Idempotency-Key (in plain text, 24 hours): the callback
    # number stays masked in it; read the call to see the number.
    logged, out = await service.create(call.body)
    return await call.answer(out, 201, record=logged, location=f"/api/v1/hotline/calls/{logged.id}")


action_route(
    router,
    "/calls",
    body=CallCreate,
    precondition=False,
    deps=[("principal", Writer), ("service", Svc), ("session", Session)],
    handle=_create_call,
    operation_id="hotline-calls-create",
    summary="Log a call",
    description="Logs a call of your workstation. Rules (422 with field errors, nothing "
    "written): the end is not before the start; a risk level or imminent risk needs an "
    "assessment; the level is not below what the assessment implies; imminent risk is high "
    "risk; a callback number needs consent; a minor needs a minor's age band. The incoming "
    "number is only hashed (repeat callers); the callback number is stored encrypted. High or "
    "imminent risk flags the call and notifies the supervisors on duty at once "
    "(outbox event `hotline.high_risk`). The answer shows the callback number masked. "
    "`Idempotency-Key`: a repeat with the same key and body returns the stored answer.",
    status_code=201,
    response_model=CallOut,
    responses=responses(401, 403, 409, 422),
)


@router.get(
    "/calls/{call_id}",
    operation_id="hotline-calls-get",
    summary="Read a call log",
    description="The whole call with its ETag; the callback number unmasked. The read is "
    "written to the access log. " + HIDDEN,
    responses=responses(401, 404, 422),
)
async def get_call(
    call_id: CallId, principal: CallReader, service: Svc, response: Response
) -> CallOut:
    out = await service.read(call_id)
    response.headers["ETag"] = etag_of(out.id, out.version)
    return out


# A change of a call: (path, method, body, who may make it, service method, operation,
# summary, description, problems)
CALL_CHANGES: list[tuple[str, str, type, Any, str, str, str, str, tuple[int, ...]]] = [
    (
        "",
        "patch",
        CallUpdate,
        CallWriter,
        "update",
        "hotline-calls-update",
        "Change a call log",
        "Corrections and additions (follow-up done, assessment...). Only the counselor who took "
        "the call or a supervisor (403 otherwise). Needs If-Match (428/412). Same rules as "
        "logging (422). Raising the risk to high, or to imminent, flags the call again and "
        "notifies the supervisors on duty. ",
        (401, 403, 404, 409, 412, 422, 428),
    ),
    (
        "/acknowledge",
        "post",
        AcknowledgeIn,
        CallReviewer,
        "acknowledge",
        "hotline-calls-acknowledge",
        "Acknowledge a flagged call",
        "A workstation supervisor takes charge of a high-risk call; the flag clears and the "
        "timeline records who and when. 409 if the call is not flagged or already acknowledged. "
        "Needs If-Match. Counselors: 403. ",
        (401, 403, 404, 409, 412, 422, 428),
    ),
    (
        "/review",
        "post",
        ReviewIn,
        CallReviewer,
        "review",
        "hotline-calls-review",
        "Review a call",
        "A workstation supervisor's review (a later review replaces the earlier one; the "
        "timeline keeps both). Not of a call you took yourself (403). Needs If-Match. "
        "Counselors: 403. ",
        (401, 403, 404, 412, 422, 428),
    ),
]
for path, verb, body_type, guard, change, operation, summary, doc, problems in CALL_CHANGES:
    change_route(
        router,
        f"/calls/{{call_id}}{path}",
        method=verb,
        id_name="call_id",
        id_description="The call's id.",
        body=body_type,
        deps=[("_", CallReader), ("principal", guard), ("service", Svc)],
        change=_call_changed(change),
        out=CallOut,
        operation_id=operation,
        summary=summary,
        description=doc + HIDDEN,
        responses=responses(*problems),
    )


async def _open_case(call: ActionCall) -> Response:
    service: HotlineService = call.deps["service"]
    logged, case = await service.open_case(call.record_id, call.body, call.if_match)
    out = OpenCaseOut(
        case_id=case.id,
        case_number=case.number,
        call=await service.call_out(logged, action="open_case", unmask=False),
    )
    return await call.answer(out, 201, record=logged, location=f"/api/v1/cases/{case.id}")


action_route(
    router,
    "/calls/{call_id}/open-case",
    id_name="call_id",
    id_description="The call's id.",
    body=OpenCaseIn,
    deps=[
        ("_", CallReader),
        ("__", CallWriter),
        ("principal", CaseCreator),
        ("service", Svc),
        ("session", Session),
    ],
    handle=_open_case,
    operation_id="hotline-calls-open-case",
    summary="Open a dispute case from a call",
    description="Registers a dispute case with source `hotline` (same rules as `cases-create`: "
    "category, place in your jurisdiction, at least one applicant) and links call and case "
    "both ways. Nothing is copied from the call: the facts and parties are what you send, "
    "without the caller's mental health. One case per call (409). Needs If-Match (the call's "
    "ETag) and `cases:create`. Supports `Idempotency-Key`. " + HIDDEN,
    status_code=201,
    response_model=OpenCaseOut,
    responses=responses(401, 403, 404, 409, 412, 422, 428),
)


@router.get(
    "/calls/{call_id}/timeline",
    operation_id="hotline-calls-timeline",
    summary="A call's timeline",
    description="Who did what and when (logged, changed, flagged, acknowledged, reviewed, "
    "follow-up done, case opened, de-identified), in order (`seq`), a page at a time. The "
    "case opened from the call is named only to readers of that case. Written to the access "
    "log. " + HIDDEN,
    responses=responses(401, 404, 422),
)
async def call_timeline(
    call_id: CallId,
    principal: CallReader,
    service: Svc,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[CallEventOut]:
    rows = await service.timeline(call_id, cursor_int(cursor_values(cursor, "s"), "s"), limit)
    items, next_cursor = build_page(rows, limit, lambda e: {"s": e.seq})
    return Page[CallEventOut](items=await service.events_out(items), next_cursor=next_cursor)


# --- duty roster --------------------------------------------------------------------------
shifts = RecordRoutes(
    router,
    "/duty-shifts",
    "shift_id",
    "The shift's id.",
    DutyShiftOut,
    "shifts_out",
    Svc,
    readers=(ShiftReader,),
    writers=(ShiftReader, Rosterer),
)
shifts.list(
    [
        ("unit_id", Annotated[uuid.UUID | None, Query(description="Only this workstation.")], None),
        ("person_id", Annotated[uuid.UUID | None, Query(description="Only this person.")], None),
        (
            "duty_role",
            Annotated[DutyRole | None, Query(description="Supervisor or counselor.")],
            None,
        ),
        (
            "ends_after",
            Annotated[
                QueryTime | None,
                Query(alias="from", description="Shifts ending after this instant."),
            ],
            None,
        ),
        (
            "starts_before",
            Annotated[
                QueryTime | None,
                Query(alias="to", description="Shifts starting before this instant."),
            ],
            None,
        ),
    ],
    lambda service, a, limit, cursor: service.shift_page(
        unit_id=a["unit_id"],
        person_id=a["person_id"],
        duty_role=a["duty_role"],
        ends_after=a["ends_after"],
        starts_before=a["starts_before"],
        limit=limit,
        cursor=cursor,
    ),
    Doc(
        "hotline-duty-list",
        "List the duty roster",
        "Shifts of your workstations in start order. Without `hotline:read`: 403.",
        responses(401, 403, 422),
    ),
    readers=(Reader,),
)


@router.post(
    "/duty-shifts",
    operation_id="hotline-duty-create",
    summary="Add a shift",
    description="Workstation supervisors keep the roster. The person must hold the role at "
    "the workstation (supervisor duty: the supervisor role) on the start date, and have no "
    "overlapping shift (409).",
    status_code=201,
    responses=responses(401, 403, 409, 422),
)
async def create_shift(
    body: DutyShiftCreate, principal: Rosterer, service: Svc, response: Response
) -> DutyShiftOut:
    shift = await service.create_shift(body)
    response.headers["ETag"] = etag_of(shift.id, shift.version)
    response.headers["Location"] = f"/api/v1/hotline/duty-shifts/{shift.id}"
    return (await service.shifts_out([shift]))[0]


shifts.read(
    "get_shift",
    Doc(
        "hotline-duty-get",
        "Read a shift",
        "One shift with its ETag. Without `hotline:read`: 404.",
        responses(401, 404, 422),
    ),
)
shifts.update(
    DutyShiftUpdate,
    "update_shift",
    Doc(
        "hotline-duty-update",
        "Change a shift",
        "Supervisors only (403). Needs If-Match. Same rules as adding. Without "
        "`hotline:read`: 404.",
        responses(401, 403, 404, 409, 412, 422, 428),
    ),
)


@router.delete(
    "/duty-shifts/{shift_id}",
    operation_id="hotline-duty-delete",
    summary="Remove a shift",
    description="Supervisors only (403). Needs If-Match. Without `hotline:read`: 404.",
    status_code=204,
    responses=responses(401, 403, 404, 412, 422, 428),
)
async def delete_shift(
    shift_id: ShiftId, _: ShiftReader, principal: Rosterer, service: Svc, if_match: IfMatch = None
) -> Response:
    await service.delete_shift(shift_id, if_match)
    return Response(status_code=204)


@router.get(
    "/duty/now",
    operation_id="hotline-duty-now",
    summary="Who is on duty now",
    description="Supervisors and counselors on duty at this instant at a workstation (shifts "
    "kept at the workstation or above it). `coverage_gap` is true when no supervisor is on "
    "duty. Without `hotline:read`: 403.",
    responses=responses(401, 403, 404, 422),
)
async def duty_now(principal: Reader, service: Svc, unit_id: UnitQuery = None) -> DutyNowOut:
    return await service.on_duty(unit_id)


@router.get(
    "/duty/coverage",
    operation_id="hotline-duty-coverage",
    summary="24-hour coverage gaps",
    description="The spans of a window (default: the next 7 days; at most 31) when nobody is "
    "on the given duty (default: supervisor). A 24-hour hotline needs none. Without "
    "`hotline:read`: 403.",
    responses=responses(401, 403, 404, 422),
)
async def duty_coverage(
    principal: Reader,
    service: Svc,
    unit_id: UnitQuery = None,
    start: Annotated[
        QueryTime | None, Query(alias="from", description="Window start; default now.")
    ] = None,
    end: Annotated[
        QueryTime | None,
        Query(alias="to", description="Window end; default 7 days after the start."),
    ] = None,
    duty_role: Annotated[DutyRole, Query(description="Which duty to check.")] = DutyRole.supervisor,
) -> CoverageOut:
    return await service.coverage(unit_id, start, end, duty_role)
