"""Administration of accounts, integration clients and the access log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.contracts.common import Page
from mediation.contracts.etag import etag_of
from mediation.contracts.windows import QueryTime
from mediation_api.auth.admin_service import AdminService
from mediation_api.deps import ClockDep, IfMatch, Session, State, require
from mediation_api.org.contracts import (
    AccessLogOut,
    ClientCreate,
    ClientCreated,
    ClientOut,
    ClientUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
)
from mediation_api.pagination import DEFAULT, Cursor, Limit
from mediation_api.problems import responses

router = APIRouter(tags=["administration"])

UserAdmin = Annotated[Principal, Depends(require(Permission.users_write))]
ClientAdmin = Annotated[Principal, Depends(require(Permission.clients_write))]
LogReader = Annotated[Principal, Depends(require(Permission.access_log_read))]
UserId = Annotated[uuid.UUID, Path(description="The user account's id.")]
ClientUuid = Annotated[uuid.UUID, Path(description="The API client's id (not its `client_id`).")]


@router.get(
    "/users",
    operation_id="users-list",
    summary="List accounts",
    description="Accounts of people holding a role in the caller's subtree.",
    responses=responses(401, 403, 422),
)
async def list_users(
    session: Session, principal: UserAdmin, limit: Limit = DEFAULT, cursor: Cursor = None
) -> Page[UserOut]:
    items, nxt = await AdminService(session, principal).users(limit, cursor)
    return Page[UserOut](items=[UserOut.model_validate(u) for u in items], next_cursor=nxt)


@router.post(
    "/users",
    operation_id="users-create",
    summary="Create an account",
    description="An account for a person in the caller's subtree.",
    status_code=201,
    responses=responses(401, 403, 409, 422),
)
async def create_user(
    body: UserCreate, session: Session, principal: UserAdmin, response: Response, state: State
) -> UserOut:
    user = await AdminService(session, principal, state).create_user(body)
    response.headers["ETag"] = etag_of(user.id, user.version)
    return UserOut.model_validate(user)


@router.patch(
    "/users/{user_id}",
    operation_id="users-update",
    summary="Change an account",
    description="Disable (its sessions and tokens end at once), enable, or set a new password "
    "(under the password policy; the owner changes it at the next sign-in). Needs If-Match.",
    responses=responses(401, 403, 404, 412, 422, 428),
)
async def update_user(
    user_id: UserId,
    body: UserUpdate,
    session: Session,
    principal: UserAdmin,
    response: Response,
    state: State,
    if_match: IfMatch = None,
) -> UserOut:
    user = await AdminService(session, principal, state).update_user(user_id, body, if_match)
    response.headers["ETag"] = etag_of(user.id, user.version)
    return UserOut.model_validate(user)


@router.delete(
    "/users/{user_id}/mfa",
    operation_id="users-mfa-reset",
    summary="Reset an account's second factor",
    description="The security administrator removes a lost second factor: its secret and "
    "recovery codes stop working and the account's sessions end. An account that must have "
    "one enrols anew at its next sign-in (a token limited to `mfa_enrolment`).",
    status_code=204,
    responses=responses(401, 403, 404),
)
async def reset_mfa(
    user_id: UserId, session: Session, principal: UserAdmin, state: State
) -> Response:
    await AdminService(session, principal, state).reset_mfa(user_id)
    return Response(status_code=204)


@router.delete(
    "/users/{user_id}/sessions",
    operation_id="users-sessions-revoke",
    summary="End all sessions of an account",
    description="Every session of the account ends: refresh tokens and access tokens stop "
    "working at once. The person can sign in again.",
    status_code=204,
    responses=responses(401, 403, 404),
)
async def revoke_sessions(
    user_id: UserId, session: Session, principal: UserAdmin, state: State
) -> Response:
    await AdminService(session, principal, state).revoke_sessions(user_id)
    return Response(status_code=204)


@router.get(
    "/clients",
    operation_id="clients-list",
    summary="List integration clients",
    description="Clients whose jurisdiction lies in the caller's subtree.",
    responses=responses(401, 403, 422),
)
async def list_clients(
    session: Session, principal: ClientAdmin, limit: Limit = DEFAULT, cursor: Cursor = None
) -> Page[ClientOut]:
    items, nxt = await AdminService(session, principal).clients(limit, cursor)
    return Page[ClientOut](items=[ClientOut.model_validate(c) for c in items], next_cursor=nxt)


@router.post(
    "/clients",
    operation_id="clients-create",
    summary="Register a client",
    description="Returns the client secret once.",
    status_code=201,
    responses=responses(401, 403, 409, 422),
)
async def create_client(
    body: ClientCreate, session: Session, principal: ClientAdmin, response: Response
) -> ClientCreated:
    client, secret = await AdminService(session, principal).create_client(body)
    response.headers["ETag"] = etag_of(client.id, client.version)
    return ClientCreated(**ClientOut.model_validate(client).model_dump(), client_secret=secret)


@router.patch(
    "/clients/{client_uuid}",
    operation_id="clients-update",
    summary="Change a client",
    description="Scopes or active flag. Needs If-Match.",
    responses=responses(401, 403, 404, 412, 422, 428),
)
async def update_client(
    client_uuid: ClientUuid,
    body: ClientUpdate,
    session: Session,
    principal: ClientAdmin,
    response: Response,
    if_match: IfMatch = None,
) -> ClientOut:
    client = await AdminService(session, principal).update_client(client_uuid, body, if_match)
    response.headers["ETag"] = etag_of(client.id, client.version)
    return ClientOut.model_validate(client)


@router.get(
    "/access-log",
    operation_id="access-log-list",
    summary="Query the access log",
    description="Who read unmasked personal data or hotline records: by subject "
    "(person), record, actor and time. Newest first.",
    responses=responses(401, 403, 422),
)
async def access_log(
    session: Session,
    principal: LogReader,
    clock: ClockDep,
    subject_id: Annotated[uuid.UUID | None, Query(description="Whose data was shown.")] = None,
    record_type: Annotated[str | None, Query(max_length=40, description="E.g. `case`.")] = None,
    record_id: Annotated[uuid.UUID | None, Query(description="The record.")] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="Who read it.")] = None,
    since: Annotated[QueryTime | None, Query(description="At or after (RFC 3339).")] = None,
    until: Annotated[QueryTime | None, Query(description="Before (RFC 3339).")] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[AccessLogOut]:
    items, nxt = await AdminService(session, principal).access_log(
        subject_id=subject_id,
        record_type=record_type,
        record_id=record_id,
        actor_id=actor_id,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    return Page[AccessLogOut](
        items=[AccessLogOut.model_validate(e) for e in items], next_cursor=nxt
    )
