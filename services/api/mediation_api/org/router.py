"""The jurisdiction tree, people and their roles."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import ValidationError

from mediation.auth.access_log import record_access
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.clock import center_date
from mediation.errors import Unprocessable, UnsupportedMediaType
from mediation.org.enums import Role, UnitLevel
from mediation.org.models import Person, RoleAssignment
from mediation.org.tree import UNIT_IMPORT_INVALID
from mediation.privacy import mask_phone
from mediation_api.deps import ClockDep, Session, require
from mediation_api.org.contracts import (
    AssignmentCreate,
    AssignmentEnd,
    AssignmentOut,
    CoverageGap,
    PersonCreate,
    PersonOut,
    PersonUpdate,
    UnitCreate,
    UnitImport,
    UnitImportResult,
    UnitImportRow,
    UnitOut,
    UnitUpdate,
)
from mediation_api.org.repository import OrgRepository
from mediation_api.org.service import OrgService
from mediation_api.plain_routes import Args, PlainRecords, list_route, record_route
from mediation_api.problems import responses

router = APIRouter(tags=["jurisdiction"])

Reader = Annotated[Principal, Depends(require(Permission.units_read))]
UnitWriter = Annotated[Principal, Depends(require(Permission.units_write))]
PeopleReader = Annotated[Principal, Depends(require(Permission.people_read))]
PeopleWriter = Annotated[Principal, Depends(require(Permission.people_write))]
RoleAssigner = Annotated[Principal, Depends(require(Permission.roles_assign))]
UnitId = Annotated[uuid.UUID, Path(description="The unit's id.")]
PersonId = Annotated[uuid.UUID, Path(description="The person's id.")]
AssignmentId = Annotated[uuid.UUID, Path(description="The role assignment's id.")]
NameContains = Annotated[str | None, Query(max_length=50, description="Name contains.")]
UNIT_READ = [("session", Session), ("principal", Reader), ("clock", ClockDep)]
UNIT_WRITE = [("session", Session), ("principal", UnitWriter), ("clock", ClockDep)]
PEOPLE_READ = [("session", Session), ("principal", PeopleReader), ("clock", ClockDep)]
PEOPLE_WRITE = [("session", Session), ("principal", PeopleWriter), ("clock", ClockDep)]
ROLE_ASSIGN = [("session", Session), ("principal", RoleAssigner), ("clock", ClockDep)]


def _org(a: Args) -> OrgService:
    return OrgService(a["session"], a["clock"], a["principal"])


list_route(
    router,
    "/units",
    params=[
        ("session", Session),
        ("principal", Reader),
        (
            "parent_id",
            Annotated[uuid.UUID | None, Query(description="Children of this node.")],
            None,
        ),
        ("level", Annotated[UnitLevel | None, Query(description="Only this level.")], None),
        (
            "active",
            Annotated[bool | None, Query(description="Only active (or inactive) nodes.")],
            None,
        ),
        ("q", NameContains, None),
    ],
    fetch=lambda a, limit, cursor: OrgRepository(a["session"]).units_page(
        a["principal"],
        **{k: a[k] for k in ("parent_id", "level", "active", "q")},
        limit=limit,
        cursor=cursor,
    ),
    out=UnitOut,
    operation_id="units-list",
    summary="List units",
    description="Nodes of the tree inside the caller's subtree, by id.",
    responses=responses(401, 403, 422),
)


@router.get(
    "/units/coverage-gaps",
    operation_id="units-coverage-gaps",
    summary="Communities without their police officer or legal advisor",
    description="一村(社区)一警、一村(社区)一顾问: every active community or village in the "
    "caller's subtree where nobody holds the police or legal-advisor role today.",
    responses=responses(401, 403),
)
async def coverage_gaps(session: Session, principal: Reader, clock: ClockDep) -> list[CoverageGap]:
    gaps = await OrgRepository(session).coverage_gaps(
        principal, center_date(clock.now()), (Role.police, Role.legal_advisor)
    )
    return [CoverageGap(unit_id=u.id, code=u.code, name=u.name, missing=m) for u, m in gaps]


units = PlainRecords(
    router, "/units", [("unit_id", UnitId)], UnitOut, readers=UNIT_READ, writers=UNIT_WRITE
)
units.read(
    lambda a: _org(a).get_unit(a["unit_id"]),
    operation_id="units-get",
    summary="Read a unit",
    description="One node with its ETag.",
    responses=responses(401, 403, 404, 422),
)
units.create(
    UnitCreate,
    lambda a: _org(a).create_unit(a["body"]),
    location=lambda unit, _: f"/api/v1/units/{unit.id}",
    operation_id="units-create",
    summary="Add a unit",
    description="Adds a node right below its parent's level.",
    responses=responses(401, 403, 409, 422),
)
units.change(
    UnitUpdate,
    lambda a: _org(a).rename_unit(a["unit_id"], a["body"].name, a["if_match"]),
    operation_id="units-rename",
    summary="Rename a unit",
    description="Only the name changes; needs If-Match.",
    responses=responses(401, 403, 404, 412, 422, 428),
)
units.change(
    None,
    lambda a: _org(a).deactivate_unit(a["unit_id"], a["if_match"]),
    method="post",
    action="deactivate",
    operation_id="units-deactivate",
    summary="Deactivate a unit and its subtree",
    description="Units are never deleted: records point to them. Needs If-Match.",
    responses=responses(401, 403, 404, 409, 412, 428),
)


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "JSON `{units: [...]}` or CSV with the header `code,name,level,"
        "parent_code` (UTF-8, a BOM is allowed).",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/UnitImport"}},
            "text/csv": {
                "schema": {"type": "string"},
                "example": "code,name,level,parent_code\n220303,铁东区,district,220300\n",
            },
        },
    }
}


@router.post(
    "/units/import",
    operation_id="units-import",
    summary="Import many units",
    description="All rows or none: a 422 lists every bad row (field "
    "`units.<row>.<column>`) and nothing is written.",
    status_code=201,
    openapi_extra=IMPORT_BODY,
    responses=responses(401, 403, 413, 415, 422),
)
async def import_units(
    request: Request, session: Session, principal: UnitWriter, clock: ClockDep
) -> UnitImportResult:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    try:
        if ctype == "application/json":
            rows = UnitImport.model_validate_json(raw).units
        elif ctype in ("text/csv", "application/csv"):
            rows = _csv_rows(raw)
        else:
            raise UnsupportedMediaType("Send application/json or text/csv.")
    except ValidationError as exc:
        raise Unprocessable(
            "The import is malformed.",
            errors=[
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ],
            code=UNIT_IMPORT_INVALID,
        ) from exc
    created = await OrgService(session, clock, principal).import_units(rows)
    return UnitImportResult(created=created)


def _csv_rows(raw: bytes) -> list[UnitImportRow]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("The CSV is not UTF-8.", code=UNIT_IMPORT_INVALID) from exc
    reader = csv.DictReader(io.StringIO(text))
    need = {"code", "name", "level", "parent_code"}
    if not reader.fieldnames or not need <= set(reader.fieldnames):
        raise Unprocessable(
            "The CSV header must be code,name,level,parent_code.", code=UNIT_IMPORT_INVALID
        )
    rows = [
        UnitImportRow(
            code=(r["code"] or "").strip(),
            name=(r["name"] or "").strip(),
            level=(r["level"] or "").strip(),
            parent_code=(r["parent_code"] or "").strip() or None,
        )
        for r in reader
    ]
    if not rows:
        raise Unprocessable("The CSV has no rows.", code=UNIT_IMPORT_INVALID)
    return rows


# --- people -------------------------------------------------------------------------------


def _person_out(person: Person, a: Args) -> PersonOut:
    """A person as the caller may see them: the phone masked without `pii_read`, else its
    reading logged."""
    principal = a["principal"]
    out = PersonOut.model_validate(person)
    if not principal.can(Permission.pii_read):
        out.phone = mask_phone(out.phone)
    elif out.phone:
        record_access(
            a["session"],
            principal,
            action="read",
            record_type="person",
            record_id=person.id,
            subject_ids=[person.id],
        )
    return out


def _listed_person(person: Person, a: Args) -> PersonOut:
    out = PersonOut.model_validate(person)
    out.phone = mask_phone(out.phone)  # a list never shows a phone
    return out


people = PlainRecords(
    router,
    "/people",
    [("person_id", PersonId)],
    PersonOut,
    readers=PEOPLE_READ,
    writers=PEOPLE_WRITE,
    show=_person_out,
)
people.list(
    [
        (
            "role",
            Annotated[
                Role | None,
                Query(description="Holding this role today in your jurisdiction."),
            ],
            None,
        ),
        (
            "unit_id",
            Annotated[
                uuid.UUID | None,
                Query(
                    description="Holding a role at this node (422 if the unit is not in your "
                    "jurisdiction)."
                ),
            ],
            None,
        ),
        ("q", NameContains, None),
    ],
    lambda a, limit, cursor: OrgRepository(a["session"]).people_page(
        a["principal"],
        **{k: a[k] for k in ("role", "unit_id", "q")},
        limit=limit,
        cursor=cursor,
        day=center_date(a["clock"].now()),
    ),
    show=_listed_person,
    operation_id="people-list",
    summary="List people",
    description="People holding a role somewhere in the caller's subtree; `role` and "
    "`unit_id` count only the roles held there. Phones masked.",
    responses=responses(401, 403, 422),
)
people.read(
    lambda a: _org(a).get_person(a["person_id"]),
    operation_id="people-get",
    summary="Read a person",
    description="Unmasked phone for roles that need it (logged in the access log).",
    responses=responses(401, 403, 404, 422),
)
people.create(
    PersonCreate,
    lambda a: _org(a).create_person(a["body"]),
    location=lambda person, _: f"/api/v1/people/{person.id}",
    operation_id="people-create",
    summary="Add a person",
    description="A person with their first role.",
    responses=responses(401, 403, 409, 422),
)
people.change(
    PersonUpdate,
    lambda a: _org(a).update_person(a["person_id"], a["body"], a["if_match"]),
    operation_id="people-update",
    summary="Change a person",
    description="Needs If-Match.",
    responses=responses(401, 403, 404, 412, 422, 428),
)


@router.get(
    "/people/{person_id}/assignments",
    operation_id="people-assignments-list",
    summary="A person's roles",
    description="Past, present and future assignments at units of your jurisdiction.",
    responses=responses(401, 403, 404, 422),
)
async def list_assignments(
    person_id: PersonId, session: Session, principal: PeopleReader, clock: ClockDep
) -> list[AssignmentOut]:
    person = await OrgService(session, clock, principal).get_person(person_id)
    return [
        AssignmentOut.model_validate(a)
        for a in await OrgRepository(session).assignments(principal, person.id)
    ]


async def _add_assignment(a: Args) -> RoleAssignment:
    service = _org(a)
    return await service.add_assignment(await service.get_person(a["person_id"]), a["body"])


record_route(
    router,
    "post",
    "/people/{person_id}/assignments",
    params=[("person_id", PersonId), ("body", AssignmentCreate), *ROLE_ASSIGN],
    run=_add_assignment,
    out=AssignmentOut,
    etag=None,
    operation_id="people-assignments-create",
    summary="Give a person a role",
    status_code=201,
    description="The unit must be in the caller's subtree and active.",
    responses=responses(401, 403, 404, 409, 422),
)
record_route(
    router,
    "post",
    "/assignments/{assignment_id}/end",
    params=[("assignment_id", AssignmentId), ("body", AssignmentEnd), *ROLE_ASSIGN],
    run=lambda a: _org(a).end_assignment(a["assignment_id"], a["body"].ends_on),
    out=AssignmentOut,
    etag=None,
    operation_id="assignments-end",
    summary="End a role",
    description="Sets the last day the role is held.",
    responses=responses(401, 403, 404, 422),
)
