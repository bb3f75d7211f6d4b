"""Signing in: passwords with throttling and lockout, client credentials with scopes,
rotating refresh-token families."""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.audit import chain as audit
from mediation.audit.context import client_ip_var
from mediation.auth import mfa, password_policy
from mediation.auth.accounts import CURRENT_PASSWORD_WRONG
from mediation.auth.contracts import MeOut, RoleGrant, TokenOut
from mediation.auth.events import SignInLocked
from mediation.auth.models import ApiClient, AuthSession, RefreshToken, User
from mediation.auth.passwords import DUMMY_HASH, verify_password
from mediation.auth.policy import CLIENT_GRANTABLE, Permission, permissions_for
from mediation.auth.principal import Principal
from mediation.auth.tokens import TokenService, hash_refresh_token, new_refresh_token
from mediation.clock import center_date
from mediation.errors import (
    Forbidden,
    SecondFactorRequired,
    SecondFactorWrong,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)
from mediation.org.enums import Role
from mediation.org.models import Person, RoleAssignment, Unit
from mediation.outbox.events import emit
from mediation.settings import Settings
from mediation_api.auth import sessions

log = logging.getLogger("mediation.auth")

# Counted per (account, source address): an attacker slows down and locks out only his own
# source; the real user signing in from elsewhere is not affected (issue 18 item 8).
THROTTLE_AFTER = 3  # failures before each further attempt must wait (1 s, 2 s, 4 s ...)
LOCK_AFTER = 10  # failures before the source is locked out of the account for LOCK_MINUTES
LOCK_MINUTES = 15
BAD_CREDENTIALS = "The username or password is wrong."
# What a limited token may do (Principal.restriction).
PASSWORD_CHANGE = "password_change"
MFA_ENROLMENT = "mfa_enrolment"


def audit_own(
    session: AsyncSession,
    user: User,
    action: str,
    client_ip: str | None,
    record_type: str = "user",
    record_id: uuid.UUID | None = None,
) -> None:
    """A change the person made to their own account (or, with `record_type` and
    `record_id`, to something of theirs) on the audit trail."""
    audit.record(
        session,
        action=action,
        actor_id=user.id,
        actor_name=user.username,
        record_type=record_type,
        record_id=user.id if record_id is None else record_id,
        client_ip=client_ip,
    )


class AuthService:
    def __init__(
        self,
        session: AsyncSession,
        tokens: TokenService,
        redis: Redis,
        settings: Settings,
        now: datetime,
    ) -> None:
        self.session = session
        self.tokens = tokens
        self.redis = redis
        self.settings = settings
        self.now = now
        # Roles start and end on days of the center's calendar: the day in Beijing, not UTC
        # (between 00:00 and 08:00 the UTC date is yesterday's).
        self.today = center_date(now)

    # --- people -----------------------------------------------------------------------
    async def password_grant(
        self,
        username: str,
        password: str,
        otp: str | None = None,
        *,
        client_ip: str | None = None,
        user_agent: str | None = None,
    ) -> TokenOut:
        """Password, then the second factor, then what must happen first (enrolling a
        required second factor, changing an expired or administrator-set password: a token
        limited to that), else a full sign-in with a session."""
        # A source locked out of the account may still try with a second factor (the real user
        # behind a shared address); the lock stands for any account without one.
        lock = await self._check_throttle(username, second_factor_offered=bool(otp))
        user = (
            await self.session.scalars(select(User).where(User.username == username))
        ).one_or_none()
        # Verify against a dummy hash for unknown names: same time, same answer.
        ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
        if not ok or user is None or not user.active:
            reason = "unknown_account" if user is None else "bad_password" if not ok else "disabled"
            await self._sign_in_failed(username, user, reason, client_ip)
            raise Unauthorized(BAD_CREDENTIALS, error="invalid_grant")
        if lock is not None and user.totp_confirmed_at is None:
            raise lock
        principal = await self.user_principal(user)
        factor = await self._second_factor(user, otp, client_ip)
        restriction = None
        if factor is None and mfa.required_for(principal.roles, self.settings):
            restriction = MFA_ENROLMENT
        elif password_policy.change_needed(user, self.settings, self.now):
            restriction = PASSWORD_CHANGE
        await self._clear_failures(username)
        user.last_login_at = self.now
        audit.record(
            self.session,
            action="auth.sign_in",
            actor_id=user.id,
            actor_name=username,
            client_ip=client_ip,
            second_factor=factor,
            restricted_to=restriction,
            actor_roles=sorted(principal.roles),
        )
        if restriction is not None:
            limited = replace(
                principal,
                roles=frozenset(),
                permissions=frozenset(),
                scope_paths=(),
                restriction=restriction,
            )
            access, ttl = self.tokens.issue(limited, self.now)
            return TokenOut(access_token=access, expires_in=ttl, restricted_to=restriction)
        row = sessions.open_session(
            self.session,
            user,
            self.settings,
            self.now,
            second_factor=factor,
            client_ip=client_ip,
            user_agent=user_agent,
        )
        principal = replace(principal, session_id=row.id)
        return await self._issue_with_refresh(user, principal, family=row.id)

    async def _second_factor(
        self, user: User, otp: str | None, client_ip: str | None
    ) -> str | None:
        """`totp` or `recovery_code` when the account has a confirmed factor and `otp` is
        right (the code is then spent); None for an account without one."""
        if user.totp_confirmed_at is None:
            return None
        if not otp:
            await self.audit_refusal(
                "auth.sign_in", user.id, user.username, client_ip, "mfa_required"
            )
            raise SecondFactorRequired(
                "This account needs a second factor: send the code of your authenticator app "
                "(or a recovery code) in the form field `otp`."
            )
        if mfa.use_totp(user, otp, self.settings, self.now):
            return "totp"
        if mfa.use_recovery_code(user, otp):
            audit.record(
                self.session,
                action="auth.recovery_code_used",
                actor_id=user.id,
                actor_name=user.username,
                client_ip=client_ip,
                remaining=len(user.recovery_codes),
            )
            return "recovery_code"
        await self._sign_in_failed(user.username, user, "bad_otp", client_ip)
        raise SecondFactorWrong(
            "The second factor is wrong, or that code was already used; wait for the next code."
        )

    async def refresh(self, token: str) -> TokenOut:
        row = (
            await self.session.scalars(
                select(RefreshToken)
                .where(RefreshToken.token_hash == hash_refresh_token(token))
                .with_for_update()
            )
        ).one_or_none()
        if row is None:
            raise Unauthorized("The refresh token is not valid.", error="invalid_grant")
        sign_in = await self.session.get(AuthSession, row.family_id, with_for_update=True)
        if row.used_at is not None or row.revoked_at is not None:
            # Reuse of a spent token means it leaked: revoke the whole family, for good,
            # although this request fails.
            await self._end_now(row.family_id, sign_in, "refresh_reuse")
            log.warning(
                "refresh token reuse; family revoked", extra={"ctx_family": str(row.family_id)}
            )
            raise Unauthorized(
                "The refresh token was already used; sign in again.", error="invalid_grant"
            )
        if sign_in is None or sign_in.revoked_at is not None:
            raise Unauthorized("The session was ended; sign in again.", error="invalid_grant")
        if row.expires_at <= self.now or sign_in.expires_at <= self.now:
            await self._end_now(row.family_id, sign_in, "expired")
            raise Unauthorized("The session has expired; sign in again.", error="invalid_grant")
        if self.now - sign_in.last_used_at > sessions.idle_limit(self.settings):
            await self._end_now(row.family_id, sign_in, "idle")
            raise Unauthorized(
                f"The session was idle for more than {self.settings.session_idle_minutes} "
                "minutes; sign in again.",
                error="invalid_grant",
            )
        row.used_at = self.now
        sign_in.last_used_at = self.now
        user = await self.session.get(User, row.user_id)
        if user is None or not user.active:
            await self._end_now(row.family_id, sign_in, "account_disabled")
            raise Unauthorized("The account is disabled.", error="invalid_grant")
        principal = replace(await self.user_principal(user), session_id=sign_in.id)
        return await self._issue_with_refresh(user, principal, family=row.family_id)

    async def logout(self, token: str, principal: Principal) -> None:
        row = (
            await self.session.scalars(
                select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(token))
            )
        ).one_or_none()
        # Only the owner can revoke; anything else looks like an unknown token.
        if row is not None and principal.kind == "user" and row.user_id == principal.id:
            await self._revoke_family(row.family_id)
            sign_in = await self.session.get(AuthSession, row.family_id, with_for_update=True)
            if sign_in is not None:
                await sessions.revoke(
                    self.session, self.redis, self.settings, self.now, [sign_in], "signed_out"
                )

    async def change_password(
        self, principal: Principal, current: str, new: str, client_ip: str | None
    ) -> None:
        """The owner's change: the current password again (a stolen access token is not
        enough), the policy, then every other session of the account ends."""
        user = await self.session.get(User, principal.id, with_for_update=True)
        if user is None or not user.active:
            raise Unauthorized("The account is disabled.")
        if not verify_password(user.password_hash, current):
            await self._sign_in_failed(
                user.username, user, "bad_password", client_ip, action="auth.password_change"
            )
            raise Unprocessable(
                "The current password is wrong.",
                field="body.current_password",
                rule="current_password",
                code=CURRENT_PASSWORD_WRONG,
            )
        try:
            password_policy.check(new, user, user.username, self.settings, "body.new_password")
        except Unprocessable as exc:
            await self.audit_refusal(
                "auth.password_change", user.id, user.username, client_ip, exc.extra.get("rule")
            )
            raise
        password_policy.set_password(user, new, self.settings, self.now, by_admin=False)
        user.version += 1
        audit_own(self.session, user, "auth.password_change", client_ip)
        await sessions.revoke_all(
            self.session,
            self.redis,
            self.settings,
            self.now,
            user,
            "password_changed",
            keep=principal.session_id,
        )

    async def user_principal(self, user: User) -> Principal:
        grants = await self.active_grants(user.person_id, self.today)
        roles = frozenset(role for role, _ in grants)
        person = await self.session.get(Person, user.person_id)
        return Principal(
            kind="user",
            id=user.id,
            name=person.name if person else user.username,
            roles=roles,
            permissions=permissions_for(set(roles)),
            scope_paths=_minimal_prefixes([u.path for _, u in grants]),
            person_id=user.person_id,
        )

    async def me(self, principal: Principal) -> MeOut:
        """The caller's identity, with the roles a person holds today and where."""
        grants: list[RoleGrant] = []
        if principal.kind == "user" and principal.person_id:
            user = (await self.session.scalars(select(User).where(User.id == principal.id))).one()
            grants = [
                RoleGrant(role=r, unit_id=u.id, unit_name=u.name, unit_level=u.level)
                for r, u in await self.active_grants(user.person_id, self.today)
            ]
        return MeOut(
            kind=principal.kind,
            id=principal.id,
            name=principal.name,
            person_id=principal.person_id,
            roles=sorted(principal.roles),
            permissions=sorted(p.value for p in principal.permissions),
            grants=grants,
        )

    async def active_grants(self, person_id: uuid.UUID, today: date) -> list[tuple[Role, Unit]]:
        rows = await self.session.execute(
            select(RoleAssignment.role, Unit)
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .where(
                RoleAssignment.person_id == person_id,
                RoleAssignment.starts_on <= today,
                or_(RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= today),
                Unit.active.is_(True),
            )
        )
        return [(r, u) for r, u in rows.all()]

    # --- other systems ------------------------------------------------------------------
    async def client_grant(self, client_id: str, secret: str, scope: str | None) -> TokenOut:
        client = (
            await self.session.scalars(select(ApiClient).where(ApiClient.client_id == client_id))
        ).one_or_none()
        ok = verify_password(client.secret_hash if client else DUMMY_HASH, secret)
        if not ok or client is None or not client.active:
            raise Unauthorized("The client credentials are wrong.", error="invalid_client")
        granted = {Permission(s) for s in client.scopes if s in Permission._value2member_map_}
        granted &= CLIENT_GRANTABLE
        if scope:
            asked = set(scope.split())
            unknown = asked - {p.value for p in granted}
            if unknown:
                raise Forbidden(
                    f"Scopes not granted to this client: {' '.join(sorted(unknown))}.",
                    error="invalid_scope",
                )
            granted = {Permission(s) for s in asked}
        unit = await self.session.get(Unit, client.unit_id)
        principal = Principal(
            kind="client",
            id=client.id,
            name=client.name,
            roles=frozenset(),
            permissions=frozenset(granted),
            scope_paths=(unit.path,) if unit else (),
            client_id=client.client_id,
        )
        token, ttl = self.tokens.issue(principal, self.now)
        return TokenOut(
            access_token=token, expires_in=ttl, scope=" ".join(sorted(p.value for p in granted))
        )

    # --- internals ----------------------------------------------------------------------
    async def _issue_with_refresh(
        self, user: User, principal: Principal, family: uuid.UUID
    ) -> TokenOut:
        access, ttl = self.tokens.issue(principal, self.now)
        refresh, digest = new_refresh_token()
        self.session.add(
            RefreshToken(
                user_id=user.id,
                family_id=family,
                token_hash=digest,
                issued_at=self.now,
                expires_at=self.now + timedelta(days=self.settings.refresh_token_days),
            )
        )
        return TokenOut(access_token=access, expires_in=ttl, refresh_token=refresh)

    async def _revoke_family(self, family_id: uuid.UUID) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=self.now)
        )

    async def _end_now(
        self, family_id: uuid.UUID, sign_in: AuthSession | None, reason: str
    ) -> None:
        """The one place a request commits before its end: the revocation must hold although
        the request answers with an error (which would roll the transaction back)."""
        await self._revoke_family(family_id)
        if sign_in is not None and sign_in.revoked_at is None:
            await sessions.revoke(
                self.session, self.redis, self.settings, self.now, [sign_in], reason
            )
            audit.record(
                self.session,
                action="auth.session_ended",
                actor_id=sign_in.user_id,
                record_type="auth_session",
                record_id=sign_in.id,
                reason=reason,
            )
        await self.session.commit()

    def _key(self, username: str) -> str:
        source = client_ip_var.get() or "unknown"
        return f"{self.settings.arq_queue}:login-failures:{username.lower()}:{source}"

    async def _check_throttle(
        self, username: str, second_factor_offered: bool = False
    ) -> TooManyRequests | None:
        """Refuses while this source must wait. A source locked out of the account that sends a
        second factor is let through to try it: the refusal is returned instead, for the caller
        to raise if the account has no second factor."""
        try:
            raw = await self.redis.hgetall(self._key(username))
        except Exception:  # Redis down: sign-in still works, without throttling
            log.warning("login throttle unavailable")
            return None
        if not raw:
            return None
        count = int(raw.get(b"count", 0))
        last = float(raw.get(b"last", 0))
        if count >= LOCK_AFTER:
            wait = last + LOCK_MINUTES * 60 - self.now.timestamp()
        elif count >= THROTTLE_AFTER:
            wait = last + 2 ** (count - THROTTLE_AFTER) - self.now.timestamp()
        else:
            return None
        if wait <= 0:
            return None
        refusal = TooManyRequests(
            "Too many failed sign-ins; wait before trying again.",
            headers={"Retry-After": str(math.ceil(wait))},
            error="slow_down",
        )
        if count >= LOCK_AFTER and second_factor_offered:
            return refusal
        raise refusal

    async def _sign_in_failed(
        self,
        username: str,
        user: User | None,
        reason: str,
        client_ip: str | None,
        action: str = "auth.sign_in",
    ) -> None:
        """A wrong credential: on the audit trail and the failure counter, nothing else."""
        await self.audit_refusal(
            action, user.id if user else None, username[:100], client_ip, reason
        )
        if await self._record_failure(username) == LOCK_AFTER:
            await self._alert_lock(username, user.id if user else None)
        log.info("failed sign-in", extra={"ctx_username": username})

    async def audit_refusal(
        self,
        action: str,
        actor_id: uuid.UUID | None,
        actor_name: str,
        client_ip: str | None,
        reason: str | None,
    ) -> None:
        """A refusal (`result` failure) on the audit trail. The request's transaction rolls
        back with the refusal: the failure is recorded in a transaction of its own (the
        reason is for the auditor, never for the caller)."""
        async with AsyncSession(self.session.bind) as own, own.begin():
            audit.record(
                own,
                action=action,
                result="failure",
                actor_id=actor_id,
                actor_name=actor_name,
                client_ip=client_ip,
                reason=reason,
            )

    async def _record_failure(self, username: str) -> int:
        """Counts the failure for (account, source); answers the count (0 if Redis is down)."""
        key = self._key(username)
        try:
            pipe = self.redis.pipeline()
            pipe.hincrby(key, "count", 1)
            pipe.hset(key, "last", str(self.now.timestamp()))
            pipe.expire(key, LOCK_MINUTES * 60 * 2)
            count, *_ = await pipe.execute()
            return int(count)
        except Exception:
            log.warning("could not record failed sign-in")
            return 0

    async def _alert_lock(self, username: str, user_id: uuid.UUID | None) -> None:
        """A source was just locked out of an account: recorded in the trail, and the security
        administrators are told (in-app, `security.sign_in_locked`). Its own transaction: the
        refusal rolls the request's back."""
        source = client_ip_var.get()
        today = self.today
        async with AsyncSession(self.session.bind) as own, own.begin():
            admins = await own.scalars(
                select(RoleAssignment.person_id).where(
                    RoleAssignment.role == Role.security_admin,
                    RoleAssignment.starts_on <= today,
                    or_(RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= today),
                )
            )
            audit.record(
                own,
                action="auth.locked",
                result="failure",
                actor_id=user_id,
                actor_name=username[:100],
                failures=LOCK_AFTER,
                locked_minutes=LOCK_MINUTES,
            )
            await emit(
                own,
                SignInLocked(
                    username=username[:100],
                    source_ip=source or "unknown",
                    failures=LOCK_AFTER,
                    locked_until=self.now + timedelta(minutes=LOCK_MINUTES),
                    recipient_person_ids=sorted(set(admins)),
                    account_id=user_id,
                ),
                aggregate_id=user_id,
                occurred_at=self.now,
            )
        log.warning(
            "sign-in locked for a source", extra={"ctx_username": username, "ctx_source": source}
        )

    async def _clear_failures(self, username: str) -> None:
        try:
            await self.redis.delete(self._key(username))
        except Exception:
            log.warning("could not clear failed sign-ins")


def _minimal_prefixes(paths: list[str]) -> tuple[str, ...]:
    """Drop paths inside another path of the list: the scope check stays short."""
    out: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return tuple(out)
