"""Administration of accounts, integration clients and the access log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.clock import center_date
from mediation_api.audit.filters import RecordIdQ, RecordTypeQ, SinceQ, UntilQ
from mediation_api.auth.admin_service import AdminService
from mediation_api.deps import ClockDep, Session, State, require
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
from mediation_api.plain_routes import (
    Args,
    PlainRecords,
    list_route,
    record_etag,
    removal_route,
)
from mediation_api.problems import responses

router = APIRouter(tags=["administration"])

UserAdmin = Annotated[Principal, Depends(require(Permission.users_write))]
ClientAdmin = Annotated[Principal, Depends(require(Permission.clients_write))]
LogReader = Annotated[Principal, Depends(require(Permission.access_log_read))]
UserId = Annotated[uuid.UUID, Path(description="The user account's id.")]
ClientUuid = Annotated[uuid.UUID, Path(description="The API client's id (not its `client_id`).")]
USER_CHANGE = [("user_id", UserId)]
USER_DEPS = [("session", Session), ("principal", UserAdmin), ("state", State)]
ACCESS_FILTERS = ("subject_id", "record_type", "record_id", "actor_id", "since", "until")
CLIENT_DEPS = [("session", Session), ("principal", ClientAdmin)]


def _users(a: Args) -> AdminService:
    return AdminService(a["session"], a["principal"], a["state"])


def _admin(a: Args) -> AdminService:
    return AdminService(a["session"], a["principal"])


users = PlainRecords(
    router,
    "/users",
    USER_CHANGE,
    UserOut,
    readers=[("session", Session), ("principal", UserAdmin)],
    writers=USER_DEPS,
)
users.list(
    [],
    lambda a, limit, cursor: _admin(a).users(limit, cursor),
    operation_id="users-list",
    summary="List accounts",
    description="Accounts of people holding a role in the caller's subtree.",
    responses=responses(401, 403, 422),
)
users.create(
    UserCreate,
    lambda a: _users(a).create_user(a["body"]),
    operation_id="users-create",
    summary="Create an account",
    description="An account for a person in the caller's subtree.",
    responses=responses(401, 403, 409, 422),
)
users.change(
    UserUpdate,
    lambda a: _users(a).update_user(a["user_id"], a["body"], a["if_match"]),
    operation_id="users-update",
    summary="Change an account",
    description="Disable (its sessions and tokens end at once), enable, or set a new password "
    "(under the password policy; the owner changes it at the next sign-in). Needs If-Match.",
    responses=responses(401, 403, 404, 412, 422, 428),
)
removal_route(
    router,
    "delete",
    "/users/{user_id}/mfa",
    params=[*USER_CHANGE, *USER_DEPS],
    run=lambda a: _users(a).reset_mfa(a["user_id"]),
    operation_id="users-mfa-reset",
    summary="Reset an account's second factor",
    description="The security administrator removes a lost second factor: its secret and "
    "recovery codes stop working and the account's sessions end. An account that must have "
    "one enrols anew at its next sign-in (a token limited to `mfa_enrolment`).",
    responses=responses(401, 403, 404),
)
removal_route(
    router,
    "delete",
    "/users/{user_id}/sessions",
    params=[*USER_CHANGE, *USER_DEPS],
    run=lambda a: _users(a).revoke_sessions(a["user_id"]),
    operation_id="users-sessions-revoke",
    summary="End all sessions of an account",
    description="Every session of the account ends: refresh tokens and access tokens stop "
    "working at once. The person can sign in again.",
    responses=responses(401, 403, 404),
)
clients = PlainRecords(
    router,
    "/clients",
    [("client_uuid", ClientUuid)],
    ClientOut,
    readers=CLIENT_DEPS,
    writers=CLIENT_DEPS,
)
clients.list(
    [],
    lambda a, limit, cursor: _admin(a).clients(limit, cursor),
    operation_id="clients-list",
    summary="List integration clients",
    description="Clients whose jurisdiction lies in the caller's subtree.",
    responses=responses(401, 403, 422),
)
clients.create(
    ClientCreate,
    lambda a: _admin(a).create_client(a["body"]),
    out=ClientCreated,
    show=lambda made, _: ClientCreated(
        **ClientOut.model_validate(made[0]).model_dump(), client_secret=made[1]
    ),
    etag=lambda made: record_etag(made[0]),
    operation_id="clients-create",
    summary="Register a client",
    description="Returns the client secret once.",
    responses=responses(401, 403, 409, 422),
)
clients.change(
    ClientUpdate,
    lambda a: _admin(a).update_client(a["client_uuid"], a["body"], a["if_match"]),
    operation_id="clients-update",
    summary="Change a client",
    description="Scopes or active flag. Needs If-Match.",
    responses=responses(401, 403, 404, 412, 422, 428),
)


list_route(
    router,
    "/access-log",
    params=[
        ("session", Session),
        ("principal", LogReader),
        ("clock", ClockDep),
        (
            "subject_id",
            Annotated[uuid.UUID | None, Query(description="Whose data was shown.")],
            None,
        ),
        ("record_type", RecordTypeQ, None),
        ("record_id", RecordIdQ, None),
        ("actor_id", Annotated[uuid.UUID | None, Query(description="Who read it.")], None),
        ("since", SinceQ, None),
        ("until", UntilQ, None),
    ],
    fetch=lambda a, limit, cursor: _admin(a).access_log(
        **{k: a[k] for k in ACCESS_FILTERS},
        today=center_date(a["clock"].now()),
        limit=limit,
        cursor=cursor,
    ),
    out=AccessLogOut,
    operation_id="access-log-list",
    summary="Query the access log",
    description="Who read unmasked personal data or hotline records: by subject "
    "(person), record, actor and time. Newest first.",
    responses=responses(401, 403, 422),
)
