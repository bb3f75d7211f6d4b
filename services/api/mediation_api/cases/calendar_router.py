"""The working-day calendar and the deadline rules, as data administrators maintain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.cases.contracts import (
    CalendarYearIn,
    CalendarYearOut,
    DeadlineRuleIn,
    DeadlineRuleOut,
)
from mediation.cases.enums import Complexity, DeadlineStage
from mediation.contracts.etag import etag_of
from mediation_api.cases.calendar import CalendarService, rule_key, year_etag
from mediation_api.deps import CurrentPrincipal, IfMatch, require
from mediation_api.problems import responses
from mediation_api.record_context import context_dependency

router = APIRouter(tags=["calendar"])

Year = Annotated[int, Path(ge=2000, le=2100, description="The year, e.g. 2027.")]
Admin = Annotated[Principal, Depends(require(Permission.reference_write))]


Reading = Annotated[CalendarService, Depends(context_dependency(CalendarService, CurrentPrincipal))]
Administering = Annotated[CalendarService, Depends(context_dependency(CalendarService, Admin))]


@router.get(
    "/calendar/{year}",
    operation_id="calendar-get",
    summary="A year's calendar",
    description="Holidays and moved working days (调休) of a year, where they come "
    "from, and whether the year is provisional (not yet officially published: "
    "deadlines running into it are marked provisional).",
    responses=responses(401, 422),
)
async def get_year(year: Year, service: Reading, response: Response) -> CalendarYearOut:
    return _tagged(response, year, await service.year(year))


@router.put(
    "/calendar/{year}",
    operation_id="calendar-load",
    summary="Load a year's official schedule",
    description="Replaces the year with the State Council's schedule (holidays and "
    "weekend working days) and recomputes every running deadline it affects; those "
    "cases get a `deadline_recomputed` timeline entry. Administrators; needs If-Match "
    "with the ETag of `calendar-get` (a year never loaded has one too).",
    responses=responses(401, 403, 412, 422, 428),
)
async def load_year(
    year: Year,
    body: CalendarYearIn,
    service: Administering,
    response: Response,
    if_match: IfMatch = None,
) -> CalendarYearOut:
    return _tagged(response, year, await service.load_year(year, body, if_match))


def _tagged(response: Response, year: int, out: CalendarYearOut) -> CalendarYearOut:
    """A year's answer carries its ETag (the If-Match of `calendar-load`)."""
    response.headers["ETag"] = year_etag(year, out)
    return out


@router.get(
    "/deadline-rules",
    operation_id="deadline-rules-list",
    summary="Deadline rules",
    description="How long each stage may take per complexity. Each rule's ETag is "
    '`"<stage>:<complexity>-<version>"`.',
    responses=responses(401),
)
async def list_rules(service: Reading) -> list[DeadlineRuleOut]:
    return [rule for rule, _ in await service.rules()]


@router.put(
    "/deadline-rules/{stage}/{complexity}",
    operation_id="deadline-rules-update",
    summary="Change a deadline rule",
    description="Applies to stages that start from now on (running deadlines keep the "
    "rule they started with). Administrators; needs If-Match.",
    responses=responses(401, 403, 412, 422, 428),
)
async def set_rule(
    stage: Annotated[DeadlineStage, Path(description="Stage.")],
    complexity: Annotated[Complexity, Path(description="Complexity.")],
    body: DeadlineRuleIn,
    service: Administering,
    response: Response,
    if_match: IfMatch = None,
) -> DeadlineRuleOut:
    out = await service.set_rule(stage, complexity, body, if_match)
    response.headers["ETag"] = etag_of(rule_key(stage, complexity), out.version)
    return out
