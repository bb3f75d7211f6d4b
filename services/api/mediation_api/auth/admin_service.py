"""Administration of accounts, integration clients and the access log: every query and every
change (scope, If-Match, version) of `admin_router`, in the request's transaction."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime

from sqlalchemy import Select, any_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.audit import chain as audit
from mediation.auth import accounts, mfa, password_policy
from mediation.auth.models import AccessLogEntry, ApiClient, User
from mediation.auth.passwords import hash_password
from mediation.auth.policy import CLIENT_GRANTABLE, Permission
from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope
from mediation.contracts.changes import modified
from mediation.contracts.etag import check_if_match
from mediation.errors import Conflict, NotFound, Unprocessable
from mediation.org.models import Unit
from mediation.org.tree import UNIT_UNKNOWN
from mediation_api.auth import sessions
from mediation_api.hotline.repository import HotlineRepository
from mediation_api.org.contracts import ClientCreate, ClientUpdate, UserCreate, UserUpdate
from mediation_api.org.repository import OrgRepository
from mediation_api.pagination import id_page
from mediation_api.state import AppState


def _check_scopes(scopes: list[str]) -> None:
    allowed = {p.value for p in CLIENT_GRANTABLE}
    unknown = sorted(set(scopes) - allowed)
    if unknown:
        raise Unprocessable(
            f"Scopes a client cannot hold: {', '.join(unknown)}. "
            f"Allowed: {', '.join(sorted(allowed))}.",
            field="body.scopes",
            code=accounts.CLIENT_SCOPES,
        )


class AdminService:
    def __init__(
        self, session: AsyncSession, principal: Principal, state: AppState | None = None
    ) -> None:
        self.session = session
        self.principal = principal
        self.org = OrgRepository(session)
        self.state = state  # accounts need settings, Redis (session deny-list) and the clock

    def _account_state(self) -> AppState:
        assert self.state is not None, "account changes need the app state"
        return self.state

    def _audit(self, action: str, user: User) -> None:
        audit.record(
            self.session,
            action=action,
            actor_id=self.principal.id,
            actor_name=self.principal.name,
            record_type="user",
            record_id=user.id,
            username=user.username,
        )

    # --- accounts ---
    async def users(self, limit: int, cursor: str | None) -> tuple[list[User], str | None]:
        """Accounts of people holding a role in the caller's subtree."""
        people = self.org.readable_people(self.principal).with_only_columns(
            OrgRepository.person_id_column()
        )
        return await id_page(
            self.session, select(User).where(User.person_id.in_(people)), User.id, limit, cursor
        )

    async def _user_for_change(self, user_id: uuid.UUID) -> User:
        user = await self.session.get(User, user_id, with_for_update=True)
        if user is None or await self.org.person(self.principal, user.person_id) is None:
            raise NotFound("No such user.")
        return user

    async def create_user(self, body: UserCreate) -> User:
        if await self.org.person(self.principal, body.person_id) is None:
            raise Unprocessable(
                "The person does not exist.", field="body.person_id", code=accounts.PERSON_UNKNOWN
            )
        taken = await self.session.scalar(
            select(User.id).where(
                (User.username == body.username) | (User.person_id == body.person_id)
            )
        )
        if taken:
            raise Conflict(
                "The username is taken or the person already has an account.",
                code=accounts.USERNAME_TAKEN,
            )
        state = self._account_state()
        password_policy.check(body.password, None, body.username, state.settings, "body.password")
        user = User(
            username=body.username,
            person_id=body.person_id,
            password_hash=hash_password(body.password),
            password_changed_at=state.clock.now(),
            must_change_password=True,  # set by an administrator: changed at first sign-in
        )
        self.session.add(user)
        await self.session.flush()
        self._audit("account.created", user)
        return user

    async def update_user(self, user_id: uuid.UUID, body: UserUpdate, if_match: str | None) -> User:
        user = await self._user_for_change(user_id)
        check_if_match(if_match, user.id, user.version)
        state = self._account_state()
        now = state.clock.now()
        if body.password is not None:
            password_policy.check(
                body.password, user, user.username, state.settings, "body.password"
            )
        disabling = body.active is False and user.active
        enabling = body.active is True and not user.active
        if body.active is not None:
            user.active = body.active
        if body.password is not None:
            password_policy.set_password(user, body.password, state.settings, now, by_admin=True)
            self._audit("account.password_set", user)
            await sessions.revoke_all(
                self.session, state.redis, state.settings, now, user, "password_set"
            )
        if disabling:
            self._audit("account.disabled", user)
            await sessions.revoke_all(
                self.session, state.redis, state.settings, now, user, "account_disabled"
            )
            # Tokens without a session (limited to a first step) end too.
            await sessions.deny(state.redis, state.settings, now, user_id=user.id)
        if enabling:
            self._audit("account.enabled", user)
        if modified(user):  # a change that changes nothing keeps the version (and the ETag)
            user.version += 1
            await self.session.flush()
        return user

    async def reset_mfa(self, user_id: uuid.UUID) -> None:
        user = await self._user_for_change(user_id)
        if user.totp_secret is None and not user.recovery_codes:
            return  # nothing to reset: nothing changes
        state = self._account_state()
        mfa.clear(user)
        user.version += 1
        self._audit("account.mfa_reset", user)
        await sessions.revoke_all(
            self.session, state.redis, state.settings, state.clock.now(), user, "mfa_reset"
        )

    async def revoke_sessions(self, user_id: uuid.UUID) -> None:
        user = await self._user_for_change(user_id)
        state = self._account_state()
        await sessions.revoke_all(
            self.session, state.redis, state.settings, state.clock.now(), user, "revoked_by_admin"
        )

    # --- integration clients ---
    def _clients(self) -> Select[tuple[ApiClient]]:
        """Clients whose jurisdiction lies in the caller's subtree."""
        return (
            select(ApiClient)
            .join(Unit, Unit.id == ApiClient.unit_id)
            .where(in_scope(Unit.path, self.principal))
        )

    async def clients(self, limit: int, cursor: str | None) -> tuple[list[ApiClient], str | None]:
        return await id_page(self.session, self._clients(), ApiClient.id, limit, cursor)

    async def create_client(self, body: ClientCreate) -> tuple[ApiClient, str]:
        """The client and its secret (shown once)."""
        _check_scopes(body.scopes)
        if await self.org.unit(self.principal, body.unit_id) is None:
            raise Unprocessable("The unit does not exist.", field="body.unit_id", code=UNIT_UNKNOWN)
        if await self.session.scalar(
            select(ApiClient.id).where(ApiClient.client_id == body.client_id)
        ):
            raise Conflict(
                f"The client id `{body.client_id}` is taken.", code=accounts.CLIENT_ID_TAKEN
            )
        secret = secrets.token_urlsafe(32)
        client = ApiClient(
            client_id=body.client_id,
            name=body.name,
            scopes=sorted(set(body.scopes)),
            unit_id=body.unit_id,
            secret_hash=hash_password(secret),
        )
        self.session.add(client)
        await self.session.flush()
        return client, secret

    async def update_client(
        self, client_uuid: uuid.UUID, body: ClientUpdate, if_match: str | None
    ) -> ApiClient:
        client = (
            await self.session.scalars(
                self._clients().where(ApiClient.id == client_uuid).with_for_update(of=ApiClient)
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
            await self.session.flush()
        return client

    # --- access log ---
    async def access_log(
        self,
        *,
        subject_id: uuid.UUID | None,
        record_type: str | None,
        record_id: uuid.UUID | None,
        actor_id: uuid.UUID | None,
        since: datetime | None,
        until: datetime | None,
        today: date,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[AccessLogEntry], str | None]:
        """Newest first."""
        stmt = select(AccessLogEntry)
        # Reads of hotline records are audited inside the workstation only: nobody outside it
        # may learn that a call exists, administrators included, nor a supervisor of another
        # workstation (the entries name the call: the calls of the caller's workstations).
        hotline = AccessLogEntry.record_type.like("hotline%")
        if not self.principal.can(Permission.hotline_review):
            stmt = stmt.where(~hotline)
        else:
            repo = HotlineRepository(self.session)
            calls = await repo.readable_calls(self.principal.person_id, today)
            stmt = stmt.where(or_(~hotline, AccessLogEntry.record_id.in_(calls)))
        if not self.principal.can(Permission.audit_read):
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
        return await id_page(self.session, stmt, AccessLogEntry.id, limit, cursor, newest=True)
