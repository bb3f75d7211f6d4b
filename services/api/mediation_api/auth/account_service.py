"""The signed-in person's own sign-in security: the password, the second factor, their
sessions. Every change is on the audit trail as the person's own."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth import mfa
from mediation.auth.accounts import MFA_ENROLLED, MFA_NOT_STARTED
from mediation.auth.contracts import EnrolmentOut, RecoveryCodesOut, SignInSessionOut
from mediation.auth.models import AuthSession, User
from mediation.auth.principal import Principal
from mediation.errors import Conflict, Forbidden, NotFound, SecondFactorWrong, Unprocessable
from mediation_api.auth import sessions
from mediation_api.auth.service import AuthService, audit_own
from mediation_api.state import AppState


class AccountService:
    def __init__(
        self, session: AsyncSession, state: AppState, principal: Principal, client_ip: str | None
    ) -> None:
        self.session, self.state, self.principal = session, state, principal
        self.client_ip = client_ip

    def _auth(self) -> AuthService:
        s = self.state
        return AuthService(self.session, s.tokens, s.redis, s.settings, s.clock.now())

    def _audit_own(self, user: User, action: str) -> None:
        """A change the person made to their own account."""
        audit_own(self.session, user, action, self.client_ip)

    async def _own_account(self) -> User:
        if self.principal.kind != "user":
            raise Forbidden("Only people have passwords, second factors and sessions.")
        user = await self.session.get(User, self.principal.id, with_for_update=True)
        if user is None or not user.active:
            raise Forbidden("The account is disabled.")
        return user

    async def change_password(self, current: str, new: str) -> None:
        await self._own_account()
        await self._auth().change_password(self.principal, current, new, self.client_ip)

    async def start_enrolment(self) -> EnrolmentOut:
        user = await self._own_account()
        if user.totp_confirmed_at is not None:
            raise Conflict(
                "A second factor is enrolled already; the security administrator resets it first.",
                code=MFA_ENROLLED,
            )
        secret = mfa.new_secret()
        mfa.store_secret(user, secret, self.state.settings)
        self._audit_own(user, "auth.mfa_enrolment_started")
        uri = mfa.provisioning_uri(secret, user.username)
        return EnrolmentOut(secret=secret, provisioning_uri=uri, qr_svg=mfa.qr_svg(uri))

    async def confirm_enrolment(self, code: str) -> RecoveryCodesOut:
        user = await self._own_account()
        if user.totp_confirmed_at is not None or user.totp_secret is None:
            raise Conflict("Nothing to confirm: start an enrolment first.", code=MFA_NOT_STARTED)
        now = self.state.clock.now()
        if not mfa.use_totp(user, code, self.state.settings, now):
            await self._auth().audit_refusal(
                "auth.mfa_enrolled", user.id, user.username, self.client_ip, "bad_otp"
            )
            raise Unprocessable(
                "The code is wrong: check the app's clock and type the code it shows now.",
                field="body.code",
                code=SecondFactorWrong.slug,
            )
        user.totp_confirmed_at = now
        codes = mfa.new_recovery_codes(user)
        user.version += 1
        self._audit_own(user, "auth.mfa_enrolled")
        return RecoveryCodesOut(recovery_codes=codes)

    async def live_sessions(self) -> list[SignInSessionOut]:
        """Those that can still be refreshed, newest first."""
        user = await self._own_account()
        settings = self.state.settings
        rows = await sessions.live_sessions(self.session, user.id, settings, self.state.clock.now())
        return [
            SignInSessionOut(
                id=row.id,
                created_at=row.created_at,
                last_used_at=row.last_used_at,
                idle_expires_at=min(
                    row.last_used_at + sessions.idle_limit(settings), row.expires_at
                ),
                expires_at=row.expires_at,
                second_factor=row.second_factor,
                client_ip=row.client_ip,
                user_agent=row.user_agent,
                current=row.id == self.principal.session_id,
            )
            for row in rows
        ]

    async def end_session(self, session_id: uuid.UUID) -> None:
        user = await self._own_account()
        row = await self.session.get(AuthSession, session_id, with_for_update=True)
        if row is None or row.user_id != user.id or row.revoked_at is not None:
            raise NotFound("No such open session of yours.")
        s = self.state
        await sessions.revoke(
            self.session, s.redis, s.settings, s.clock.now(), [row], "revoked_by_owner"
        )
        audit_own(
            self.session, user, "auth.session_revoked", self.client_ip, "auth_session", row.id
        )
