"""Reference data: the lists (categories, topics) and the Chinese labels of every enum."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from mediation.auth.policy import Permission
from mediation.contracts.common import Page
from mediation.contracts.etag import etag_of
from mediation.enums import REGISTRY
from mediation.reference.data import ReferenceKind
from mediation_api.deps import ClockDep, CurrentPrincipal, IfMatch, Session, require
from mediation_api.pagination import DEFAULT, Cursor, Limit, page_of
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


@router.get(
    "/{kind}",
    operation_id="reference-list",
    summary="List a reference list",
    description="Entries in display order. Any signed-in caller may read them.",
    responses=responses(401, 422),
)
async def list_items(
    kind: KindPath,
    session: Session,
    principal: CurrentPrincipal,
    enabled: Annotated[
        bool | None, Query(description="Only enabled (or disabled) entries.")
    ] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[ReferenceItemOut]:
    page = await ReferenceRepository(session).page(
        kind, enabled=enabled, limit=limit, cursor=cursor
    )
    return page_of(ReferenceItemOut, page)  # type: ignore[no-any-return]


@router.get(
    "/{kind}/{code}",
    operation_id="reference-get",
    summary="Read one entry",
    description="The entry with its ETag.",
    responses=responses(401, 404, 422),
)
async def get_item(
    kind: KindPath,
    code: Code,
    session: Session,
    clock: ClockDep,
    principal: CurrentPrincipal,
    response: Response,
) -> ReferenceItemOut:
    item = await ReferenceService(session, clock).get(kind, code)
    response.headers["ETag"] = etag_of(item.id, item.version)
    return ReferenceItemOut.model_validate(item)


@router.post(
    "/{kind}",
    operation_id="reference-create",
    summary="Add an entry",
    description="Administrators extend a list. The code must be new in the list.",
    status_code=201,
    responses=responses(401, 403, 409, 422),
)
async def create_item(
    kind: KindPath,
    body: ReferenceItemCreate,
    session: Session,
    clock: ClockDep,
    principal: CurrentPrincipal,
    _: Admin,
    response: Response,
) -> ReferenceItemOut:
    item = await ReferenceService(session, clock).create(kind, body, principal)
    response.headers["ETag"] = etag_of(item.id, item.version)
    response.headers["Location"] = f"/api/v1/reference/{kind.value}/{item.code}"
    return ReferenceItemOut.model_validate(item)


@router.patch(
    "/{kind}/{code}",
    operation_id="reference-update",
    summary="Change an entry",
    description="Needs If-Match with the current ETag (428 without, 412 if stale).",
    responses=responses(401, 403, 404, 412, 422, 428),
)
async def update_item(
    kind: KindPath,
    code: Code,
    body: ReferenceItemUpdate,
    session: Session,
    clock: ClockDep,
    principal: CurrentPrincipal,
    _: Admin,
    response: Response,
    if_match: IfMatch = None,
) -> ReferenceItemOut:
    item = await ReferenceService(session, clock).update(kind, code, body, principal, if_match)
    response.headers["ETag"] = etag_of(item.id, item.version)
    return ReferenceItemOut.model_validate(item)
