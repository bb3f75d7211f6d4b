"""The signed-in person's own sign-in security: changing the password, enrolling a second
factor, listing and ending their sessions (issue 18, items 2-4)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from mediation.audit import chain as audit
from mediation.auth import mfa
from mediation.auth.accounts import MFA_ENROLLED, MFA_NOT_STARTED
from mediation.auth.contracts import (
    EnrolmentConfirmIn,
    EnrolmentOut,
    PasswordChangeIn,
    RecoveryCodesOut,
    SignInSessionOut,
)
from mediation.auth.models import AuthSession, User
from mediation.auth.principal import Principal
from mediation.contracts.common import Page
from mediation.errors import Conflict, Forbidden, NotFound, SecondFactorWrong, Unprocessable
from mediation_api.auth import sessions
from mediation_api.auth.service import AuthService
from mediation_api.deps import CurrentPrincipal, Session, State
from mediation_api.problems import responses

router = APIRouter(tags=["auth"])

SessionId = Annotated[uuid.UUID, Path(description="The session's id.")]


def _caller_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _audit_own(session: Session, user: User, action: str, request: Request) -> None:
    """A change the person made to their own account."""
    audit.record(
        session,
        action=action,
        actor_id=user.id,
        actor_name=user.username,
        record_type="user",
        record_id=user.id,
        client_ip=_caller_ip(request),
    )


async def _own_account(session: Session, principal: Principal) -> User:
    if principal.kind != "user":
        raise Forbidden("Only people have passwords, second factors and sessions.")
    user = await session.get(User, principal.id, with_for_update=True)
    if user is None or not user.active:
        raise Forbidden("The account is disabled.")
    return user


@router.post(
    "/auth/password",
    operation_id="auth-password-change",
    summary="Change my password",
    description="The current password and a new one the policy allows (422 names the rule: "
    "`min_length`, `character_classes`, `contains_username`, `common_password`, "
    "`recently_used`). Works with a token limited to `password_change`. Every other session "
    "of the account ends; sign in again with the new password.",
    status_code=204,
    responses=responses(401, 403, 422),
)
async def change_password(
    body: PasswordChangeIn,
    request: Request,
    session: Session,
    state: State,
    principal: CurrentPrincipal,
) -> Response:
    await _own_account(session, principal)
    service = AuthService(session, state.tokens, state.redis, state.settings, state.clock.now())
    await service.change_password(
        principal, body.current_password, body.new_password, _caller_ip(request)
    )
    return Response(status_code=204)


@router.post(
    "/auth/mfa/enrolment",
    operation_id="auth-mfa-enrol",
    summary="Start enrolling a second factor",
    description="A new TOTP secret with its otpauth:// URI and QR code (SVG), not in force "
    "until confirmed with a code. Works with a token limited to `mfa_enrolment`. An account "
    "with a confirmed factor gets 409: the security administrator resets it first.",
    status_code=201,
    responses=responses(401, 403, 409),
)
async def start_enrolment(
    request: Request, session: Session, state: State, principal: CurrentPrincipal
) -> EnrolmentOut:
    user = await _own_account(session, principal)
    if user.totp_confirmed_at is not None:
        raise Conflict(
            "A second factor is enrolled already; the security administrator resets it first.",
            code=MFA_ENROLLED,
        )
    secret = mfa.new_secret()
    mfa.store_secret(user, secret, state.settings)
    _audit_own(session, user, "auth.mfa_enrolment_started", request)
    uri = mfa.provisioning_uri(secret, user.username)
    return EnrolmentOut(secret=secret, provisioning_uri=uri, qr_svg=mfa.qr_svg(uri))


@router.post(
    "/auth/mfa/enrolment/confirm",
    operation_id="auth-mfa-confirm",
    summary="Confirm the second factor",
    description="The code the authenticator app shows puts the factor in force and returns "
    "ten one-time recovery codes, shown this once. From now on signing in needs `otp`. A "
    "wrong code is a 422 and changes nothing.",
    responses=responses(401, 403, 409, 422),
)
async def confirm_enrolment(
    body: EnrolmentConfirmIn,
    request: Request,
    session: Session,
    state: State,
    principal: CurrentPrincipal,
) -> RecoveryCodesOut:
    user = await _own_account(session, principal)
    if user.totp_confirmed_at is not None or user.totp_secret is None:
        raise Conflict("Nothing to confirm: start an enrolment first.", code=MFA_NOT_STARTED)
    now = state.clock.now()
    if not mfa.use_totp(user, body.code, state.settings, now):
        service = AuthService(session, state.tokens, state.redis, state.settings, now)
        await service.audit_alone(
            action="auth.mfa_enrolled",
            result="failure",
            actor_id=user.id,
            actor_name=user.username,
            client_ip=_caller_ip(request),
            reason="bad_otp",
        )
        raise Unprocessable(
            "The code is wrong: check the app's clock and type the code it shows now.",
            field="body.code",
            code=SecondFactorWrong.slug,
        )
    user.totp_confirmed_at = now
    codes = mfa.new_recovery_codes(user)
    user.version += 1
    _audit_own(session, user, "auth.mfa_enrolled", request)
    return RecoveryCodesOut(recovery_codes=codes)


def _out(row: AuthSession, principal: Principal, state: State) -> SignInSessionOut:
    return SignInSessionOut(
        id=row.id,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        idle_expires_at=min(row.last_used_at + sessions.idle_limit(state.settings), row.expires_at),
        expires_at=row.expires_at,
        second_factor=row.second_factor,
        client_ip=row.client_ip,
        user_agent=row.user_agent,
        current=row.id == principal.session_id,
    )


@router.get(
    "/auth/sessions",
    operation_id="auth-sessions-list",
    summary="List my sessions",
    description="The caller's sessions that can still be refreshed, newest first (all on one "
    "page).",
    responses=responses(401, 403),
)
async def list_sessions(
    session: Session, state: State, principal: CurrentPrincipal
) -> Page[SignInSessionOut]:
    user = await _own_account(session, principal)
    rows = await sessions.live_sessions(session, user.id, state.settings, state.clock.now())
    return Page[SignInSessionOut](items=[_out(r, principal, state) for r in rows], next_cursor=None)


@router.delete(
    "/auth/sessions/{session_id}",
    operation_id="auth-sessions-delete",
    summary="End one of my sessions",
    description="Its refresh token stops working and so do its access tokens, at once.",
    status_code=204,
    responses=responses(401, 403, 404),
)
async def end_session(
    session_id: SessionId,
    request: Request,
    session: Session,
    state: State,
    principal: CurrentPrincipal,
) -> Response:
    user = await _own_account(session, principal)
    row = await session.get(AuthSession, session_id, with_for_update=True)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFound("No such open session of yours.")
    now = state.clock.now()
    await sessions.revoke(session, state.redis, state.settings, now, [row], "revoked_by_owner")
    audit.record(
        session,
        action="auth.session_revoked",
        actor_id=user.id,
        actor_name=user.username,
        record_type="auth_session",
        record_id=row.id,
        client_ip=_caller_ip(request),
    )
    return Response(status_code=204)
