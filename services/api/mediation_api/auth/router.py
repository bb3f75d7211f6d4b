"""Sign-in: OAuth2 password and client-credentials grants, refresh, logout, /me."""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mediation.audit.context import client_ip_var
from mediation.auth.contracts import MeOut, OAuthErrorOut, RefreshIn, TokenOut
from mediation.errors import DomainError, Forbidden, Unauthorized, Unprocessable
from mediation_api.auth.service import AuthService
from mediation_api.deps import CurrentPrincipal, Session, State
from mediation_api.problems import PROBLEM_JSON, oauth_error, responses

router = APIRouter(tags=["auth"])


class GrantType(StrEnum):
    """OAuth2 grant types this service accepts.

    - `password`: staff sign-in with `username` and `password`; returns an access token and a
      refresh token.
    - `client_credentials`: another system signs in with `client_id`, `client_secret` and an
      optional `scope`; returns an access token only.
    """

    password = "password"
    client_credentials = "client_credentials"


class TokenRequest(BaseModel):
    """The OAuth2 token request (form-encoded). `grant_type=password` needs `username` and
    `password`; `grant_type=client_credentials` needs `client_id` and `client_secret`, and may
    ask for a `scope`. Fields the grant does not use are ignored."""

    grant_type: GrantType = Field(description="`password` or `client_credentials`.")
    username: str | None = Field(
        None, max_length=60, description="Password grant: the staff member's user name."
    )
    password: str | None = Field(
        None, max_length=200, description="Password grant: the staff member's password."
    )
    client_id: str | None = Field(
        None, max_length=80, description="Client grant: the API client's id."
    )
    client_secret: str | None = Field(
        None, max_length=200, description="Client grant: the API client's secret."
    )
    scope: str | None = Field(
        None,
        max_length=500,
        description="Client grant: space-separated scopes to ask for (default: all the "
        "client's scopes).",
    )
    otp: str | None = Field(
        None,
        max_length=20,
        description="Password grant: the second factor, for accounts that have one (always "
        "the administrators): the six digits of the authenticator app, or a recovery code.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"grant_type": "password", "username": "zhang.tiaojie", "password": "s3cret-pass"},
                {
                    "grant_type": "client_credentials",
                    "client_id": "hotline-12345",
                    "client_secret": "client-secret-value",
                    "scope": "cases:read",
                },
            ]
        }
    }


def _service(session: Session, state: State) -> AuthService:
    return AuthService(session, state.tokens, state.redis, state.settings, state.clock.now())


def _basic_client(request: Request) -> tuple[str, str] | None:
    """Client credentials from HTTP Basic (RFC 6749 §2.3.1)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized(
            "The Basic credentials cannot be decoded.", error="invalid_client"
        ) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise Unauthorized("The Basic credentials need client_id:secret.", error="invalid_client")
    # RFC 6749 form-encodes both parts; common clients (Authlib, requests) send them raw. A
    # part with a percent escape is decoded; anything else ("+" included) is taken as sent.
    return _decoded(client_id), _decoded(secret)


def _decoded(part: str) -> str:
    return unquote(part) if "%" in part else part


_OAUTH_ERRORS = {
    400: {
        "model": OAuthErrorOut,
        "description": "RFC 6749 §5.2: `invalid_request` (a field missing or malformed, two "
        "client authentications), `invalid_grant` (wrong user name or password, a locked "
        "account), `unsupported_grant_type`, `invalid_scope`.",
    },
    401: {
        "model": OAuthErrorOut,
        "description": "`invalid_client`: the client credentials are wrong (with "
        "`WWW-Authenticate: Basic`).",
    },
}


@router.post(
    "/auth/token",
    operation_id="auth-token",
    summary="Get an access token",
    description="OAuth2 token endpoint (RFC 6749, form-encoded). `grant_type=password` with "
    "`username` and `password` for staff: an access token and a refresh token. "
    "`grant_type=client_credentials` for other systems, authenticating with HTTP Basic "
    "(`client_secret_basic`: `Authorization: Basic base64(client_id:client_secret)`) or with "
    "`client_id` and `client_secret` in the form (`client_secret_post`), and an optional "
    "`scope`: an access token only. Errors are RFC 6749 §5.2 bodies "
    "(`{error, error_description}`) that OAuth2 client libraries read. Repeated failures are "
    "throttled (429 problem with Retry-After) and then locked for 15 minutes. An account with "
    "a second factor (administrators always) also sends `otp`: without it the answer is a 401 "
    "problem `mfa-required`, with a wrong or used code `mfa-invalid`, and no token. An "
    "expired or administrator-set password, or a required second factor not yet enrolled, "
    "gets a token limited to that step (`restricted_to`).",
    response_model=TokenOut,
    responses={
        **_OAUTH_ERRORS,
        **responses(429),
        401: {
            "model": OAuthErrorOut,
            "description": "`invalid_client` (RFC 6749, with `WWW-Authenticate: Basic`), or "
            "a problem+json `mfa-required` / `mfa-invalid`: the password was right, the "
            "second factor is missing or wrong.",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    },
)
async def token(
    request: Request,
    session: Session,
    state: State,
    response: Response,
    form: Annotated[TokenRequest, Form()],
) -> TokenOut | Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    caller = client_ip_var.get() or "unknown"
    await state.limiter.hit(f"ip:{caller}", state.clock.now().timestamp())
    service = _service(session, state)
    try:
        if form.grant_type is GrantType.password:
            if not form.username or not form.password:
                raise Unprocessable("The password grant needs username and password.")
            return await service.password_grant(
                form.username,
                form.password,
                form.otp,
                client_ip=caller,
                user_agent=request.headers.get("user-agent"),
            )
        basic = _basic_client(request)
        if basic is not None and (form.client_secret or form.client_id not in (None, basic[0])):
            raise Unprocessable("Authenticate the client one way: Basic or the form, not both.")
        client_id, secret = basic or (form.client_id, form.client_secret)
        if not client_id or not secret:
            raise Unauthorized(
                "The client grant needs client credentials: HTTP Basic, or client_id and "
                "client_secret in the form.",
                error="invalid_client",
            )
        return await service.client_grant(client_id, secret, form.scope)
    except (Unauthorized, Forbidden, Unprocessable) as exc:
        if not exc.oauth:  # a sign-in step OAuth2 has no code for: problem+json
            raise
        return _as_oauth(exc)


def _as_oauth(exc: DomainError) -> JSONResponse:
    code = exc.extra.get("error")
    if not isinstance(code, str):
        code = "invalid_request"
    return oauth_error(code, exc.detail)


@router.post(
    "/auth/refresh",
    operation_id="auth-refresh",
    summary="Rotate a refresh token",
    description="Exchanges a refresh token for a new access token and a new refresh "
    "token. A refresh token works once; using one twice revokes its whole family.",
    responses=responses(401, 422),
)
async def refresh(body: RefreshIn, session: Session, state: State, response: Response) -> TokenOut:
    response.headers["Cache-Control"] = "no-store"
    return await _service(session, state).refresh(body.refresh_token)


@router.post(
    "/auth/logout",
    operation_id="auth-logout",
    summary="Sign out",
    description="Revokes the refresh token's family. The access token expires soon.",
    status_code=204,
    responses=responses(401, 422),
)
async def logout(
    body: RefreshIn, session: Session, state: State, principal: CurrentPrincipal
) -> Response:
    await _service(session, state).logout(body.refresh_token, principal)
    return Response(status_code=204)


@router.get(
    "/me",
    operation_id="me-get",
    summary="Who am I",
    description="The caller's identity, roles, permissions and where roles are held.",
    responses=responses(401),
)
async def me(principal: CurrentPrincipal, session: Session, state: State) -> MeOut:
    return await _service(session, state).me(principal)
