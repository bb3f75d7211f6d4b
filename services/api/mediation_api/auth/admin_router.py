"""Administration of accounts, integration clients and the access log."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import any_, select

from mediation.audit import chain as audit
from mediation.auth import mfa, password_policy
from mediation.auth.models import AccessLogEntry, ApiClient, User
from mediation.auth.passwords import hash_password
from mediation.auth.policy import CLIENT_GRANTABLE, Permission
from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope
from mediation.contracts.changes import modified
from mediation.contracts.common import Page
from mediation.contracts.etag import check_if_match, etag_of
from mediation.contracts.windows import QueryTime
from mediation.errors import Conflict, NotFound, Unprocessable
from mediation.org.contracts import (
    AccessLogOut,
    ClientCreate,
    ClientCreated,
    ClientOut,
    ClientUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
)
from mediation.org.models import Unit
from mediation_api.auth import sessions
from mediation_api.deps import ClockDep, IfMatch, Session, State, require
from mediation_api.org.repository import OrgRepository
from mediation_api.pagination import DEFAULT, Cursor, Limit, build_page, cursor_values
from mediation_api.problems import responses

router = APIRouter(tags=["administration"])

UserAdmin = Annotated[Principal, Depends(require(Permission.users_write))]
ClientAdmin = Annotated[Principal, Depends(require(Permission.clients_write))]
LogReader = Annotated[Principal, Depends(require(Permission.access_log_read))]
UserId = Annotated[uuid.UUID, Path(description="The user account's id.")]
ClientUuid = Annotated[uuid.UUID, Path(description="The API client's id (not its `client_id`).")]


def _check_scopes(scopes: list[str]) -> None:
    allowed = {p.value for p in CLIENT_GRANTABLE}
    unknown = sorted(set(scopes) - allowed)
    if unknown:
        raise Unprocessable(
            f"Scopes a client cannot hold: {', '.join(unknown)}. "
            f"Allowed: {', '.join(sorted(allowed))}.",
            field="body.scopes",
        )


async def _user_in_scope(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or await OrgRepository(session).person(principal, user.person_id) is None:
        raise NotFound("No such user.")
    return user


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
    after = cursor_values(cursor, "id")
    people = (
        OrgRepository(session)
        .readable_people(principal)
        .with_only_columns(OrgRepository.person_id_column())
    )
    stmt = select(User).where(User.person_id.in_(people))
    if after:
        stmt = stmt.where(User.id > uuid.UUID(after["id"]))
    rows = list((await session.scalars(stmt.order_by(User.id).limit(limit + 1))).all())
    items, nxt = build_page(rows, limit, lambda u: {"id": str(u.id)})
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
    if await OrgRepository(session).person(principal, body.person_id) is None:
        raise Unprocessable("The person does not exist.", field="body.person_id")
    taken = await session.scalar(
        select(User.id).where((User.username == body.username) | (User.person_id == body.person_id))
    )
    if taken:
        raise Conflict("The username is taken or the person already has an account.")
    password_policy.check(body.password, None, body.username, state.settings, "body.password")
    now = state.clock.now()
    user = User(
        username=body.username,
        person_id=body.person_id,
        password_hash=hash_password(body.password),
        password_changed_at=now,
        must_change_password=True,  # set by an administrator: changed at first sign-in
    )
    session.add(user)
    await session.flush()
    _audit(session, principal, "account.created", user)
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
    user = await _user_in_scope(session, principal, user_id)
    check_if_match(if_match, user.id, user.version)
    now = state.clock.now()
    if body.password is not None:
        password_policy.check(body.password, user, user.username, state.settings, "body.password")
    disabling = body.active is False and user.active
    enabling = body.active is True and not user.active
    if body.active is not None:
        user.active = body.active
    if body.password is not None:
        password_policy.set_password(user, body.password, state.settings, now, by_admin=True)
        _audit(session, principal, "account.password_set", user)
        await sessions.revoke_all(session, state.redis, state.settings, now, user, "password_set")
    if disabling:
        _audit(session, principal, "account.disabled", user)
        await sessions.revoke_all(
            session, state.redis, state.settings, now, user, "account_disabled"
        )
        # Tokens without a session (limited to a first step) end too.
        await sessions.deny(state.redis, state.settings, now, user_id=user.id)
    if enabling:
        _audit(session, principal, "account.enabled", user)
    if modified(user):  # a change that changes nothing keeps the version (and the ETag)
        user.version += 1
        await session.flush()
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
    user = await _user_in_scope(session, principal, user_id)
    if user.totp_secret is None and not user.recovery_codes:
        return Response(status_code=204)  # nothing to reset: nothing changes
    mfa.clear(user)
    user.version += 1
    _audit(session, principal, "account.mfa_reset", user)
    now = state.clock.now()
    await sessions.revoke_all(session, state.redis, state.settings, now, user, "mfa_reset")
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
    user = await _user_in_scope(session, principal, user_id)
    await sessions.revoke_all(
        session, state.redis, state.settings, state.clock.now(), user, "revoked_by_admin"
    )
    return Response(status_code=204)


def _audit(session: Session, principal: Principal, action: str, user: User) -> None:
    audit.record(
        session,
        action=action,
        actor_id=principal.id,
        actor_name=principal.name,
        record_type="user",
        record_id=user.id,
        username=user.username,
    )


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
    after = cursor_values(cursor, "id")
    stmt = (
        select(ApiClient)
        .join(Unit, Unit.id == ApiClient.unit_id)
        .where(in_scope(Unit.path, principal))
    )
    if after:
        stmt = stmt.where(ApiClient.id > uuid.UUID(after["id"]))
    rows = list((await session.scalars(stmt.order_by(ApiClient.id).limit(limit + 1))).all())
    items, nxt = build_page(rows, limit, lambda c: {"id": str(c.id)})
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
    _check_scopes(body.scopes)
    if await OrgRepository(session).unit(principal, body.unit_id) is None:
        raise Unprocessable("The unit does not exist.", field="body.unit_id")
    if await session.scalar(select(ApiClient.id).where(ApiClient.client_id == body.client_id)):
        raise Conflict(f"The client id `{body.client_id}` is taken.")
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=body.client_id,
        name=body.name,
        scopes=sorted(set(body.scopes)),
        unit_id=body.unit_id,
        secret_hash=hash_password(secret),
    )
    session.add(client)
    await session.flush()
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
    client = (
        await session.scalars(
            select(ApiClient)
            .join(Unit, Unit.id == ApiClient.unit_id)
            .where(ApiClient.id == client_uuid, in_scope(Unit.path, principal))
            .with_for_update(of=ApiClient)
        )
    ).one_or_none()
    if client is None:
        raise NotFound("No such client.")
    check_if_match(if_match, client.id, client.version)
    if body.scopes is not None:
        _check_scopes(body.scopes)
        client.scopes = sorted(set(body.scopes))
    if body.active is not None:
        client.active = body.active
    if modified(client):
        client.version += 1
        await session.flush()
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
    stmt = select(AccessLogEntry)
    # Reads of hotline records are audited inside the workstation only: nobody outside it
    # may learn that a call exists, administrators included.
    hotline = AccessLogEntry.record_type.like("hotline%")
    if not principal.can(Permission.hotline_review):
        stmt = stmt.where(~hotline)
    if not principal.can(Permission.audit_read):
        stmt = stmt.where(hotline)
    if subject_id:
        stmt = stmt.where(any_(AccessLogEntry.subject_ids) == subject_id)
    if record_type:
        stmt = stmt.where(AccessLogEntry.record_type == record_type)
    if record_id:
        stmt = stmt.where(AccessLogEntry.record_id == record_id)
    if actor_id:
        stmt = stmt.where(AccessLogEntry.actor_id == actor_id)
    if since:
        stmt = stmt.where(AccessLogEntry.at >= since)
    if until:
        stmt = stmt.where(AccessLogEntry.at < until)
    after = cursor_values(cursor, "id")
    if after:
        stmt = stmt.where(AccessLogEntry.id < uuid.UUID(after["id"]))
    rows = list(
        (await session.scalars(stmt.order_by(AccessLogEntry.id.desc()).limit(limit + 1))).all()
    )
    items, nxt = build_page(rows, limit, lambda e: {"id": str(e.id)})
    return Page[AccessLogOut](
        items=[AccessLogOut.model_validate(e) for e in items], next_cursor=nxt
    )
