"""Outreach (法治宣传 activities, the 公益微课 micro-class series and classes, the summary the
monthly statistics count), residents' opinions (民意), and the duty rota of the grids'
self-governance offices (三长之家).

Everything is scoped by the tree: a record outside the caller's jurisdiction is a 404 and never
appears in a list. Readers need `outreach:read`; activities, classes and the rota need
`outreach:write`; collecting and handling opinions needs `opinions:write` (the three heads and
the owners' committee)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.contracts.windows import QueryDay
from mediation.outreach.enums import (
    ActivitySort,
    ActivityVenue,
    OpinionSort,
    OpinionStatus,
    Weekday,
)
from mediation.reference.data import ReferenceKind
from mediation_api.actions import ActionCall, action_route
from mediation_api.deps import IfMatch, Session, require
from mediation_api.domain_routes import Doc, RecordRoutes, Rows
from mediation_api.outreach.contracts import (
    CODE_PATTERN,
    ActivityCreate,
    ActivityOut,
    ActivityUpdate,
    ClassCreate,
    ClassOut,
    ClassUpdate,
    DutyGapReport,
    DutySlotCreate,
    DutySlotOut,
    DutySlotUpdate,
    OpinionAnswer,
    OpinionClose,
    OpinionCreate,
    OpinionForward,
    OpinionOut,
    OpinionToCase,
    OpinionToCaseOut,
    OpinionUpdate,
    OutreachSummary,
    SeriesCreate,
    SeriesOut,
    SeriesUpdate,
)
from mediation_api.outreach.repository import ActivityFilters, OpinionFilters
from mediation_api.outreach.service import OutreachService
from mediation_api.plain_routes import Args, removal_route
from mediation_api.problems import responses
from mediation_api.reference.service import ReferenceService
from mediation_api.request_service import service_dependency

P = Permission
API = "/api/v1"

outreach = APIRouter(prefix="/outreach", tags=["outreach"])
opinions = APIRouter(prefix="/opinions", tags=["opinions"])
rota = APIRouter(prefix="/duty-rota", tags=["duty-rota"])


Svc = Annotated[OutreachService, Depends(service_dependency(OutreachService))]
Reader = Annotated[Principal, Depends(require(P.outreach_read))]
Writer = Annotated[Principal, Depends(require(P.outreach_write))]
OpinionWriter = Annotated[Principal, Depends(require(P.opinions_write))]
CaseCreator = Annotated[Principal, Depends(require(P.cases_create))]
UnitFilter = Annotated[
    uuid.UUID | None,
    Query(description="Only this subtree (422 if the unit is not in your jurisdiction)."),
]
IDEM = " Supports `Idempotency-Key`."
CREATE_ERRORS = responses(401, 403, 409, 422)
READ_ERRORS = responses(401, 403, 404, 422)
CHANGE_ERRORS = responses(401, 403, 404, 409, 412, 422, 428)


HeldFrom = Annotated[QueryDay | None, Query(description="Held on or after this day.")]
HeldTo = Annotated[QueryDay | None, Query(description="Held on or before this day.")]
ActivitySortQ = Annotated[ActivitySort, Query(description="Order.")]
LIST_ERRORS = responses(401, 403, 422)


# What each list reads: the rows of the caller's scope (under `unit_id`) its filters keep.
async def _activities(service: OutreachService, a: Args, limit: int, cursor: str | None) -> Rows:
    filters = ActivityFilters(
        subtree_path=await service.subtree_path(a["unit_id"]),
        venue=a["venue"] or [],
        held_from=a["held_from"],
        held_to=a["held_to"],
    )
    newest = a["sort"] is ActivitySort.newest
    return await service.repo.activity_page(
        service.principal, filters, newest=newest, limit=limit, cursor=cursor
    )


async def _series(service: OutreachService, a: Args, limit: int, cursor: str | None) -> Rows:
    path = await service.subtree_path(a["unit_id"])
    return await service.repo.series_page(
        service.principal, subtree_path=path, limit=limit, cursor=cursor
    )


async def _classes(service: OutreachService, a: Args, limit: int, cursor: str | None) -> Rows:
    return await service.repo.class_page(
        service.principal,
        series_id=a["series_id"],
        subtree_path=await service.subtree_path(a["unit_id"]),
        held_from=a["held_from"],
        held_to=a["held_to"],
        newest=a["sort"] is ActivitySort.newest,
        limit=limit,
        cursor=cursor,
    )


async def _opinions(service: OutreachService, a: Args, limit: int, cursor: str | None) -> Rows:
    path = await service.subtree_path(a["unit_id"])
    await ReferenceService(service.session, service.clock).require_known(
        ReferenceKind.opinion_category, a["category"] or [], "query.category"
    )
    filters = OpinionFilters(
        subtree_path=path,
        status=a["status"] or [],
        category=a["category"] or [],
        collector_id=a["collector_id"],
        collected_from=a["collected_from"],
        collected_to=a["collected_to"],
        converted=a["converted"],
    )
    newest = a["sort"] is OpinionSort.newest
    return await service.repo.opinion_page(
        service.principal, filters, newest=newest, limit=limit, cursor=cursor
    )


async def _slots(service: OutreachService, a: Args, limit: int, cursor: str | None) -> Rows:
    return await service.repo.slot_page(
        service.principal,
        subtree_path=await service.subtree_path(a["unit_id"]),
        person_id=a["person_id"],
        date_from=a["date_from"],
        date_to=a["date_to"],
        limit=limit,
        cursor=cursor,
    )


# --- legal-awareness activities -----------------------------------------------------------
activities = RecordRoutes(
    outreach,
    "/activities",
    "activity_id",
    "The activity's id.",
    ActivityOut,
    "activities_out",
    Svc,
    readers=(Reader,),
    writers=(Writer,),
)
activities.list(
    [
        ("unit_id", UnitFilter, None),
        ("venue", Annotated[list[ActivityVenue] | None, Query(description="Venue types.")], None),
        ("held_from", HeldFrom, None),
        ("held_to", HeldTo, None),
        ("sort", ActivitySortQ, ActivitySort.newest),
    ],
    _activities,
    Doc(
        "outreach-activities-list",
        "List legal-awareness activities",
        "Activities (法治宣传) in your jurisdiction, most recent first by default.",
        LIST_ERRORS,
    ),
)
activities.create(
    ActivityCreate,
    "create_activity",
    Doc(
        "outreach-activities-create",
        "Record a legal-awareness activity",
        "An activity that took place (not in the future), at a node of your jurisdiction. "
        "Partners named by `person_id` must hold their role (police officer, legal advisor) on "
        "the place's line of the tree that day. Participants are 0 or more." + IDEM,
        CREATE_ERRORS,
    ),
)
activities.read(
    "get_activity",
    Doc("outreach-activities-get", "Read an activity", "One activity with its ETag.", READ_ERRORS),
)
activities.update(
    ActivityUpdate,
    "update_activity",
    Doc(
        "outreach-activities-update",
        "Correct an activity",
        "Omitted fields stay; `partners` replaces the whole list. Needs If-Match.",
        responses(401, 403, 404, 412, 422, 428),
    ),
)


# --- micro-class series -------------------------------------------------------------------
series = RecordRoutes(
    outreach,
    "/class-series",
    "series_id",
    "The series' id.",
    SeriesOut,
    "series_out",
    Svc,
    readers=(Reader,),
    writers=(Writer,),
)
series.list(
    [("unit_id", UnitFilter, None)],
    _series,
    Doc(
        "outreach-class-series-list",
        "List micro-class series",
        "Series (公益微课) in your jurisdiction with their weekly schedule (Beijing "
        "time) and running totals counted from the recorded classes.",
        LIST_ERRORS,
    ),
)
series.create(
    SeriesCreate,
    "create_series",
    Doc(
        "outreach-class-series-create",
        "Start a micro-class series",
        "Weekly schedule in Beijing time: Wednesdays at 19:30 unless given. The usual length is "
        "30 to 60 minutes." + IDEM,
        CREATE_ERRORS,
    ),
)
series.read(
    "get_series",
    Doc(
        "outreach-class-series-get",
        "Read a micro-class series",
        "The series, its next scheduled class and its running totals (classes held, people "
        "reached), counted from the classes.",
        READ_ERRORS,
    ),
)
series.update(
    SeriesUpdate,
    "update_series",
    Doc(
        "outreach-class-series-update",
        "Change a micro-class series",
        "Schedule, description, or `ends_on` to end it (not before its last class). "
        "Needs If-Match.",
        responses(401, 403, 404, 412, 422, 428),
    ),
)


# --- micro-classes ------------------------------------------------------------------------
classes = RecordRoutes(
    outreach,
    "/classes",
    "class_id",
    "The class's id.",
    ClassOut,
    "classes_out",
    Svc,
    readers=(Reader,),
    writers=(Writer,),
)
classes.list(
    [
        (
            "series_id",
            Annotated[uuid.UUID | None, Query(description="Only this series.")],
            None,
        ),
        ("unit_id", UnitFilter, None),
        ("held_from", HeldFrom, None),
        ("held_to", HeldTo, None),
        ("sort", ActivitySortQ, ActivitySort.newest),
    ],
    _classes,
    Doc(
        "outreach-classes-list",
        "List micro-classes",
        "Classes held, most recent first by default. Days are Beijing days.",
        LIST_ERRORS,
    ),
)
classes.create(
    ClassCreate,
    "create_class",
    Doc(
        "outreach-classes-create",
        "Record a micro-class that was held",
        "A class of a series in your jurisdiction: topic, lecturer, length (30 to 60 minutes; "
        "default the series' usual length) and participants (0 or more). Not in the future, "
        "within the series' dates; one class per series and start time (409)." + IDEM,
        CREATE_ERRORS,
    ),
)
classes.read(
    "get_class",
    Doc("outreach-classes-get", "Read a micro-class", "One class with its ETag.", READ_ERRORS),
)
classes.update(
    ClassUpdate,
    "update_class",
    Doc(
        "outreach-classes-update",
        "Correct a micro-class",
        "Omitted fields stay; the same rules as recording it. Needs If-Match.",
        CHANGE_ERRORS,
    ),
)


@outreach.get(
    "/summary",
    operation_id="outreach-summary",
    summary="Outreach counts for a period",
    description="What the monthly statistics count, for any period and subtree: activities "
    "and participants (by venue), micro-classes and participants, opinions collected (by "
    "current status). Days are Beijing days; default the current month to today.",
    responses=responses(401, 403, 422),
)
async def summary(
    _: Reader,
    service: Svc,
    unit_id: UnitFilter = None,
    date_from: Annotated[
        QueryDay | None, Query(description="First day (between 2000-01-01 and 2100-12-31).")
    ] = None,
    date_to: Annotated[
        QueryDay | None,
        Query(description="Last day, inclusive (between 2000-01-01 and 2100-12-31)."),
    ] = None,
) -> OutreachSummary:
    return await service.summary(unit_id, date_from, date_to)


# --- residents' opinions ------------------------------------------------------------------
OPINION_ID_DOC = "The opinion's id."
OpinionId = Annotated[uuid.UUID, Path(description=OPINION_ID_DOC)]
MASKED = (
    " The resident's name and phone are masked in this answer; read the opinion to see them "
    "if your role allows."
)


opinion_routes = RecordRoutes(
    opinions,
    "",
    "opinion_id",
    OPINION_ID_DOC,
    OpinionOut,
    "opinions_out",
    Svc,
    readers=(Reader,),
    writers=(OpinionWriter,),
)
opinion_routes.list(
    [
        ("unit_id", UnitFilter, None),
        ("status", Annotated[list[OpinionStatus] | None, Query(description="Statuses.")], None),
        (
            "category",
            Annotated[
                list[Annotated[str, Query(pattern=CODE_PATTERN)]] | None,
                Query(
                    description="Category codes (`opinion_category`; one that does not exist: 422)."
                ),
            ],
            None,
        ),
        ("collector_id", Annotated[uuid.UUID | None, Query(description="Collected by.")], None),
        (
            "collected_from",
            Annotated[QueryDay | None, Query(description="Collected on or after.")],
            None,
        ),
        (
            "collected_to",
            Annotated[QueryDay | None, Query(description="Collected on or before.")],
            None,
        ),
        (
            "converted",
            Annotated[bool | None, Query(description="true: turned into a dispute case.")],
            None,
        ),
        ("sort", Annotated[OpinionSort, Query(description="Order.")], OpinionSort.newest),
    ],
    _opinions,
    Doc(
        "opinions-list",
        "List residents' opinions",
        "Opinions (民意) in your jurisdiction, most recently collected first by "
        "default. Residents' names and phones are always masked in lists.",
        LIST_ERRORS,
    ),
)
opinion_routes.create(
    OpinionCreate,
    "create_opinion",
    Doc(
        "opinions-create",
        "Record a resident's opinion",
        "Collected by a grid, building or unit head or an owners' committee member "
        "(`collector_id`, default you), who must hold that role on the place's line of the "
        "tree that day. Category from the `opinion_category` list. Status `received`."
        + MASKED
        + IDEM,
        CREATE_ERRORS,
    ),
)
opinion_routes.read(
    "get_opinion",
    Doc(
        "opinions-get",
        "Read an opinion",
        "The opinion with its ETag. The resident's name and phone are shown to roles that need "
        "personal data (and the reading is written to the access log), masked otherwise.",
        READ_ERRORS,
    ),
    single=True,
)
opinion_routes.update(
    OpinionUpdate,
    "update_opinion",
    Doc(
        "opinions-update",
        "Correct an opinion",
        "Only while `received` (409 afterwards). Needs If-Match." + MASKED,
        CHANGE_ERRORS,
    ),
)


for name, body_type, summary, doc in (
    (
        "forward",
        OpinionForward,
        "Forward an opinion",
        "received → forwarded, to the body that can act on it. Needs If-Match; 409 "
        "from any other status.",
    ),
    (
        "answer",
        OpinionAnswer,
        "Record the answer",
        "received or forwarded → answered, with the answer given to the resident. "
        "Needs If-Match; 409 from any other status.",
    ),
    (
        "close",
        OpinionClose,
        "Close an opinion",
        "answered → closed. Needs If-Match; 409 from any other status.",
    ),
):
    # An opinion's step: the service's method of the step's name.
    opinion_routes.action(
        name, body_type, name, Doc(f"opinions-{name}", summary, doc + MASKED + IDEM, CHANGE_ERRORS)
    )


async def _convert_to_case(call: ActionCall) -> Response:
    service = call.deps["service"]
    opinion, case = await service.convert_to_case(call.record_id, call.body, call.if_match)
    (out,) = await service.opinions_out([opinion])
    return await call.answer(
        OpinionToCaseOut(case_id=case.id, case_number=case.number, opinion=out),
        201,
        record=opinion,
        location=f"{API}/cases/{case.id}",
    )


action_route(
    opinions,
    "/{opinion_id}/convert-to-case",
    id_name="opinion_id",
    id_description=OPINION_ID_DOC,
    body=OpinionToCase,
    deps=[("_", OpinionWriter), ("__", CaseCreator), ("service", Svc), ("session", Session)],
    handle=_convert_to_case,
    operation_id="opinions-convert-to-case",
    summary="Turn an opinion into a dispute case",
    description="For an opinion that is really a dispute: registers a case (source "
    "`grid_report`, same rules as `cases-create`; title, facts and place default to the "
    "opinion's) and links both ways: the opinion keeps `case_id` and becomes `forwarded` to "
    "the case, the case's timeline names the opinion. From received or forwarded; one case "
    "per opinion (409). Needs If-Match (the opinion's ETag), `opinions:write` and "
    "`cases:create`." + MASKED + IDEM,
    status_code=201,
    response_model=OpinionToCaseOut,
    responses=CHANGE_ERRORS,
)


# --- duty rota ----------------------------------------------------------------------------
SlotId = Annotated[uuid.UUID, Path(description="The slot's id.")]


slots = RecordRoutes(
    rota,
    "",
    "slot_id",
    "The slot's id.",
    DutySlotOut,
    "slots_out",
    Svc,
    readers=(Reader,),
    writers=(Writer,),
)
slots.list(
    [
        ("unit_id", UnitFilter, None),
        ("person_id", Annotated[uuid.UUID | None, Query(description="Only this person.")], None),
        ("date_from", Annotated[QueryDay | None, Query(description="On or after this day.")], None),
        ("date_to", Annotated[QueryDay | None, Query(description="On or before this day.")], None),
    ],
    _slots,
    Doc(
        "duty-rota-list",
        "The duty rota",
        "Who is on duty in the self-governance offices (三长之家) of the grids in "
        "your jurisdiction, by day.",
        LIST_ERRORS,
    ),
)
slots.create(
    DutySlotCreate,
    "create_slot",
    Doc(
        "duty-rota-create",
        "Put someone on duty",
        "A day of duty in a grid's office. Only the grid's three heads (grid, building, unit "
        "head) and owners' committee members take turns: anyone else is a 422. The same person "
        "twice on a day is a 409." + IDEM,
        CREATE_ERRORS,
    ),
)


@rota.get(
    "/gaps",
    operation_id="duty-rota-gaps",
    summary="Gaps in the duty rota",
    description="For every active grid in your jurisdiction (or under `unit_id`): the days "
    "from `date_from` (default today) to `date_to` (default a week) on which nobody is on "
    "duty, counting only slots whose person still holds a head or committee role in the grid "
    "that day (the others are listed as invalid). At most 92 days.",
    responses=responses(401, 403, 422),
)
async def gaps(
    _: Reader,
    service: Svc,
    unit_id: UnitFilter = None,
    date_from: Annotated[QueryDay | None, Query(description="First day; default today.")] = None,
    date_to: Annotated[
        QueryDay | None, Query(description="Last day; default 6 days later.")
    ] = None,
    weekday: Annotated[
        list[Weekday] | None, Query(description="Days of the week the office opens; default all.")
    ] = None,
) -> DutyGapReport:
    return await service.gap_report(unit_id, date_from, date_to, weekday)


slots.read(
    "get_slot",
    Doc("duty-rota-get", "Read a duty slot", "One slot with its ETag.", READ_ERRORS),
)
slots.update(
    DutySlotUpdate,
    "update_slot",
    Doc(
        "duty-rota-update",
        "Change a duty slot",
        "Swap the day or the person (same rules as adding). Needs If-Match.",
        CHANGE_ERRORS,
    ),
)


removal_route(
    rota,
    "delete",
    "/{slot_id}",
    params=[("slot_id", SlotId), ("_", Writer), ("service", Svc), ("if_match", IfMatch, None)],
    run=lambda a: a["service"].delete_slot(a["slot_id"], a["if_match"]),
    operation_id="duty-rota-delete",
    summary="Remove a duty slot",
    description="Needs If-Match. The day may then show up as a gap.",
    responses=responses(401, 403, 404, 412, 428),
)


routers = [outreach, opinions, rota]
