"""Sign-in sessions (issue 18, item 4): one row per sign-in whose id is the refresh-token
family and the `sid` claim of its access tokens.

Refreshing is refused after `session_idle_minutes` without use and after `session_max_hours`.
Revoking a session revokes its refresh tokens in the database and puts its id on a Redis
deny-list for as long as an access token lives, so its access tokens stop at once too;
disabling an account denies every token issued to it before that moment."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.audit import chain as audit
from mediation.auth.models import AuthSession, RefreshToken, User
from mediation.auth.principal import Principal
from mediation.settings import Settings

log = logging.getLogger("mediation.auth")


def idle_limit(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.session_idle_minutes)


def open_session(
    db: AsyncSession,
    user: User,
    settings: Settings,
    now: datetime,
    *,
    second_factor: str | None,
    client_ip: str | None,
    user_agent: str | None,
) -> AuthSession:
    row = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
        second_factor=second_factor,
        client_ip=client_ip,
        user_agent=(user_agent or "")[:200] or None,
    )
    db.add(row)
    return row


async def live_sessions(
    db: AsyncSession, user_id: uuid.UUID, settings: Settings, now: datetime
) -> list[AuthSession]:
    """The account's sessions that can still be refreshed, newest first."""
    rows = await db.scalars(
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
            AuthSession.last_used_at > now - idle_limit(settings),
        )
        .order_by(AuthSession.created_at.desc())
    )
    return list(rows.all())


async def revoke(
    db: AsyncSession,
    redis: Redis,
    settings: Settings,
    now: datetime,
    rows: Sequence[AuthSession],
    reason: str,
) -> int:
    """Ends `rows` (already-ended ones are left as they are); returns how many it ended."""
    ended = [r for r in rows if r.revoked_at is None]
    if not ended:
        return 0
    for row in ended:
        row.revoked_at, row.revoked_reason = now, reason
    await db.execute(
        update(RefreshToken)
        .where(
            RefreshToken.family_id.in_([r.id for r in ended]),
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    await deny(redis, settings, now, sessions=[r.id for r in ended])
    return len(ended)


async def revoke_all(
    db: AsyncSession,
    redis: Redis,
    settings: Settings,
    now: datetime,
    user: User,
    reason: str,
    *,
    keep: uuid.UUID | None = None,
) -> int:
    """Ends every open session of `user` but `keep`, and records it on the audit trail."""
    rows = (
        await db.scalars(
            select(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
            .with_for_update()
        )
    ).all()
    count = await revoke(db, redis, settings, now, [r for r in rows if r.id != keep], reason)
    if count:
        audit.record(
            db,
            action="auth.sessions_revoked",
            record_type="user",
            record_id=user.id,
            actor_name=user.username,
            reason=reason,
            count=count,
        )
    return count


def _ttl(settings: Settings) -> int:
    # An access token lives access_token_minutes; a minute more covers clock skew.
    return settings.access_token_minutes * 60 + 60


def _session_key(settings: Settings, sid: uuid.UUID) -> str:
    return f"{settings.arq_queue}:revoked-session:{sid}"


def _user_key(settings: Settings, user_id: uuid.UUID) -> str:
    return f"{settings.arq_queue}:revoked-user:{user_id}"


async def deny(
    redis: Redis,
    settings: Settings,
    now: datetime,
    *,
    sessions: Sequence[uuid.UUID] = (),
    user_id: uuid.UUID | None = None,
) -> None:
    """Access tokens of `sessions`, and every token issued to `user_id` until `now`, are
    refused from now on."""
    try:
        pipe = redis.pipeline()
        for sid in sessions:
            pipe.set(_session_key(settings, sid), "1", ex=_ttl(settings))
        if user_id is not None:
            pipe.set(_user_key(settings, user_id), str(int(now.timestamp())), ex=_ttl(settings))
        await pipe.execute()
    except Exception:  # the refresh tokens are revoked in the database all the same
        log.warning("could not record revoked sessions on the deny-list")


def deny_keys(settings: Settings, principal: Principal) -> list[str]:
    """The deny-list keys that would end the token of `principal` (none for systems)."""
    if principal.kind != "user":
        return []
    keys = [_user_key(settings, principal.id)]
    if principal.session_id is not None:
        keys.append(_session_key(settings, principal.session_id))
    return keys


def refused(principal: Principal, values: Sequence[Any]) -> str | None:
    """Why the token of `principal` no longer works, given the values of its `deny_keys`."""
    if values and values[0] is not None and principal.issued_at <= int(values[0]):
        return "The account's sessions were ended; sign in again."
    if len(values) > 1 and values[1] is not None:
        return "The session was ended; sign in again."
    return None


async def refusal(redis: Redis, settings: Settings, principal: Principal) -> str | None:
    """Why the token of `principal` no longer works (its session or account was ended)."""
    keys = deny_keys(settings, principal)
    if not keys:
        return None
    try:
        values = await redis.mget(keys)
    except Exception:
        log.warning("session deny-list unavailable")
        return None
    return refused(principal, values)
