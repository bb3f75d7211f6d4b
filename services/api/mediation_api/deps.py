"""Dependencies every router uses: the request's transaction, the caller, the clock, ETags."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlowPassword, OAuthFlows
from fastapi.security import OAuth2
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.audit.context import Actor, actor_var
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.clock import Clock
from mediation.errors import EnrolmentRequired, Forbidden, PasswordExpired, Unauthorized
from mediation.settings import Settings
from mediation_api.auth import sessions
from mediation_api.replicas import list_sessions
from mediation_api.state import AppState

log = logging.getLogger("mediation.api.auth")

TOKEN_URL = "/api/v1/auth/token"

oauth2 = OAuth2(
    flows=OAuthFlows(
        password=OAuthFlowPassword(tokenUrl=TOKEN_URL, refreshUrl="/api/v1/auth/refresh"),
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL),
    ),
    scheme_name="oauth2",
    description="Staff sign in with the password flow; other systems with client credentials. "
    "Access tokens are JWTs issued and checked as RFC8725 (JWT Best Current Practices) "
    "asks: one explicit algorithm, issuer and expiry required and checked; they live "
    "minutes (MEDIATION_ACCESS_TOKEN_MINUTES, 15 by default); staff renew them with the "
    "refresh token, other systems ask for a new one.",
    auto_error=False,
)


# Dependencies are `async def` even when they do not await: FastAPI runs plain `def`
# dependencies in a worker thread, a thread hand-off per request (measured ~0.3 ms).
async def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.mediation
    return state


State = Annotated[AppState, Depends(app_state)]


# These take the state from the request rather than as a `State` sub-dependency: FastAPI
# solves every sub-dependency on every request, a cached one too (its own sub-tree first).
async def get_settings_dep(request: Request) -> Settings:
    state: AppState = request.app.state.mediation
    return state.settings


async def get_clock(request: Request) -> Clock:
    state: AppState = request.app.state.mediation
    return state.clock


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed when the endpoint returns without error,
    before the response is sent (scope="function"), rolled back otherwise."""
    state: AppState = request.app.state.mediation
    async with state.sessions() as session, session.begin():
        yield session


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]


async def get_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    # The state straight from the app, not as a sub-dependency: FastAPI resolves every
    # dependency of every request, a cached one too (its own sub-tree first), and this one
    # runs on every signed-in request.
    state: AppState = request.app.state.mediation
    if not token:
        raise Unauthorized(
            "Sign in first: send `Authorization: Bearer <access token>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if token.lower().startswith("bearer "):
        token = token[7:]
    now = state.clock.now()
    try:
        principal = state.tokens.verify(token, now)
    except Unauthorized as exc:
        client = request.client.host if request.client else "unknown"
        log.warning("rejected token: %s", exc.detail, extra={"ctx_client": client})
        raise
    # The rate count and the session deny-list in one Redis round trip.
    keys = sessions.deny_keys(state.settings, principal)
    values = await state.limiter.hit(f"{principal.kind}:{principal.id}", now.timestamp(), keys)
    if values is None:  # the limiter was skipped: the deny-list is still asked
        ended = await sessions.refusal(state.redis, state.settings, principal)
    else:
        ended = sessions.refused(principal, values)
    if ended is not None:
        raise Unauthorized(ended, headers={"WWW-Authenticate": "Bearer"})
    if principal.restriction is not None:
        _check_step(request, principal.restriction)
    request.state.principal = principal
    # Every audit entry of this request names the caller's roles and client (if a system).
    actor_var.set(Actor(tuple(sorted(principal.roles)), principal.client_id))
    return principal


# What a token limited to one step before a full sign-in may reach (besides /me).
_STEP_ROUTES = {
    "password_change": ({"me-get", "auth-password-change"}, PasswordExpired),
    "mfa_enrolment": ({"me-get", "auth-mfa-enrol", "auth-mfa-confirm"}, EnrolmentRequired),
}


def _check_step(request: Request, restriction: str) -> None:
    allowed, refusal = _STEP_ROUTES.get(restriction, (set(), Forbidden))
    if getattr(request.scope.get("route"), "operation_id", None) not in allowed:
        raise refusal(
            "This token only allows "
            + (
                "changing the password (POST /api/v1/auth/password)"
                if restriction == "password_change"
                else "enrolling a second factor (POST /api/v1/auth/mfa/enrolment, then .../confirm)"
            )
            + "; then sign in again."
        )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_list_session(
    state: State, principal: CurrentPrincipal
) -> AsyncIterator[AsyncSession]:
    """For statistics reads and exports: a read-only transaction on a replica fit for this
    caller (DATABASE_REPLICA_URLS, mediation_api/replicas.py), else on the primary."""
    factory = await list_sessions(state, principal)
    async with factory() as session, session.begin():
        yield session


ListSession = Annotated[AsyncSession, Depends(get_list_session, scope="function")]


def demand(principal: Principal, permission: Permission) -> None:
    """403 unless `principal` holds `permission` (the check of `require`, for a dependency
    that does it itself: one dependency less to resolve)."""
    if not principal.can(permission):
        raise Forbidden(f"This action needs the permission `{permission.value}`.")


# The dependencies `require` made, and the permission each demands (see `required`).
_REQUIRED: dict[Callable[..., Any], Permission] = {}


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the caller must hold `permission` (403 otherwise)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        demand(principal, permission)
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the access matrix
    _REQUIRED[dependency] = permission
    return dependency


def required(caller: Any) -> Permission | None:
    """The permission of `caller` when it is `Annotated[Principal, Depends(require(p))]`
    (None otherwise): a dependency taking such a caller can take `CurrentPrincipal` and
    `demand(principal, p)` itself, one dependency less to solve per request."""
    for meta in getattr(caller, "__metadata__", ()):
        call = getattr(meta, "dependency", None)
        if call is not None and call in _REQUIRED and getattr(meta, "use_cache", True):
            return _REQUIRED[call]
    return None


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1000,
        description="The ETag you last read; required to change a resource.",
    ),
]
