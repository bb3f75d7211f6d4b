"""The signed-in person's own sign-in security: changing the password, enrolling a second
factor, listing and ending their sessions (issue 18, items 2-4)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from mediation.auth.contracts import (
    EnrolmentConfirmIn,
    EnrolmentOut,
    PasswordChangeIn,
    RecoveryCodesOut,
    SignInSessionOut,
)
from mediation.contracts.common import Page
from mediation_api.auth.account_service import AccountService
from mediation_api.deps import CurrentPrincipal, Session, State
from mediation_api.problems import responses

router = APIRouter(tags=["auth"])

SessionId = Annotated[uuid.UUID, Path(description="The session's id.")]


async def _account(
    request: Request, session: Session, state: State, principal: CurrentPrincipal
) -> AccountService:
    ip = request.client.host if request.client else None
    return AccountService(session, state, principal, ip)


Account = Annotated[AccountService, Depends(_account)]


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
async def change_password(body: PasswordChangeIn, account: Account) -> Response:
    await account.change_password(body.current_password, body.new_password)
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
async def start_enrolment(account: Account) -> EnrolmentOut:
    return await account.start_enrolment()


@router.post(
    "/auth/mfa/enrolment/confirm",
    operation_id="auth-mfa-confirm",
    summary="Confirm the second factor",
    description="The code the authenticator app shows puts the factor in force and returns "
    "ten one-time recovery codes, shown this once. From now on signing in needs `otp`. A "
    "wrong code is a 422 and changes nothing.",
    responses=responses(401, 403, 409, 422),
)
async def confirm_enrolment(body: EnrolmentConfirmIn, account: Account) -> RecoveryCodesOut:
    return await account.confirm_enrolment(body.code)


@router.get(
    "/auth/sessions",
    operation_id="auth-sessions-list",
    summary="List my sessions",
    description="The caller's sessions that can still be refreshed, newest first (all on one "
    "page).",
    responses=responses(401, 403),
)
async def list_sessions(account: Account) -> Page[SignInSessionOut]:
    return Page[SignInSessionOut](items=await account.live_sessions(), next_cursor=None)


@router.delete(
    "/auth/sessions/{session_id}",
    operation_id="auth-sessions-delete",
    summary="End one of my sessions",
    description="Its refresh token stops working and so do its access tokens, at once.",
    status_code=204,
    responses=responses(401, 403, 404),
)
async def end_session(session_id: SessionId, account: Account) -> Response:
    await account.end_session(session_id)
    return Response(status_code=204)
