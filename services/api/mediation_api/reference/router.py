"""Reference data: the lists (categories, topics) and the Chinese labels of every enum."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from mediation.auth.policy import Permission
from mediation.enums import REGISTRY
from mediation.reference.data import ReferenceKind
from mediation_api.deps import ClockDep, CurrentPrincipal, Session, require
from mediation_api.plain_routes import Args, PlainRecords, list_route
from mediation_api.problems import responses
from mediation_api.reference.contracts import (
    CODE_PATTERN,
    EnumOut,
    EnumValueOut,
    ReferenceItemCreate,
    ReferenceItemOut,
    ReferenceItemUpdate,
)
from mediation_api.reference.repository import ReferenceRepository
from mediation_api.reference.service import ReferenceService

router = APIRouter(prefix="/reference", tags=["reference"])

Code = Annotated[str, Path(pattern=CODE_PATTERN, description="The entry's code.")]
KindPath = Annotated[ReferenceKind, Path(description="Which reference list.")]
Admin = Annotated[object, Depends(require(Permission.reference_write))]
READ = [("session", Session), ("clock", ClockDep), ("principal", CurrentPrincipal)]
WRITE = [*READ, ("_", Admin)]


def _reference(a: Args) -> ReferenceService:
    return ReferenceService(a["session"], a["clock"])


@router.get(
    "/enums",
    operation_id="reference-enums",
    summary="Enumerations and their labels",
    description="Every enumeration of the contract with Chinese and English labels.",
    responses=responses(401),
)
async def list_enums(principal: CurrentPrincipal) -> list[EnumOut]:
    return [
        EnumOut(
            name=name,
            values=[
                EnumValueOut(value=m.value, label_zh=m.label_zh, label_en=m.label_en) for m in enum
            ],
        )
        for name, enum in sorted(REGISTRY.items())
    ]


list_route(
    router,
    "/{kind}",
    params=[
        ("kind", KindPath),
        ("session", Session),
        ("principal", CurrentPrincipal),
        (
            "enabled",
            Annotated[bool | None, Query(description="Only enabled (or disabled) entries.")],
            None,
        ),
    ],
    fetch=lambda a, limit, cursor: ReferenceRepository(a["session"]).page(
        a["kind"], enabled=a["enabled"], limit=limit, cursor=cursor
    ),
    out=ReferenceItemOut,
    operation_id="reference-list",
    summary="List a reference list",
    description="Entries in display order. Any signed-in caller may read them.",
    responses=responses(401, 422),
)
entries = PlainRecords(
    router,
    "/{kind}",
    [("code", Code)],
    ReferenceItemOut,
    readers=READ,
    writers=WRITE,
    within=[("kind", KindPath)],
)
entries.read(
    lambda a: _reference(a).get(a["kind"], a["code"]),
    operation_id="reference-get",
    summary="Read one entry",
    description="The entry with its ETag.",
    responses=responses(401, 404, 422),
)
entries.create(
    ReferenceItemCreate,
    lambda a: _reference(a).create(a["kind"], a["body"], a["principal"]),
    location=lambda item, a: f"/api/v1/reference/{a['kind'].value}/{item.code}",
    operation_id="reference-create",
    summary="Add an entry",
    description="Administrators extend a list. The code must be new in the list.",
    responses=responses(401, 403, 409, 422),
)
entries.change(
    ReferenceItemUpdate,
    lambda a: _reference(a).update(a["kind"], a["code"], a["body"], a["principal"], a["if_match"]),
    operation_id="reference-update",
    summary="Change an entry",
    description="Needs If-Match with the current ETag (428 without, 412 if stale).",
    responses=responses(401, 403, 404, 412, 422, 428),
)
