"""Accounts for people, clients for other systems, refresh tokens and the access log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base, IdMixin, TimestampMixin


class User(IdMixin, TimestampMixin, Base):
    """A person's sign-in account; roles and scope come from the person's role assignments."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(60), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    # Password policy (mediation.auth.password_policy). NULL: the password never expires,
    # which only the demo seeding writes (development accounts keep `demo-password`).
    password_changed_at: Mapped[datetime | None]
    # Set by an administrator setting the password: the owner changes it at first sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default="false")
    # Argon2 hashes of the previous passwords, newest first (as many as the policy compares).
    password_history: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default="{}"
    )
    # Second factor (mediation.auth.mfa): the TOTP secret sealed with the field key ring,
    # confirmed once the owner typed a code; the last time step used (a code works once);
    # SHA-256 hashes of the unused recovery codes.
    totp_key_id: Mapped[str | None] = mapped_column(String(40))
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_confirmed_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_codes: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default="{}"
    )

    @property
    def mfa_enrolled(self) -> bool:
        return self.totp_confirmed_at is not None


class AuthSession(IdMixin, Base):
    """One sign-in, kept alive by refreshing: its id is the refresh-token family's and the
    `sid` claim of its access tokens, so revoking it ends both at once."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute lifetime
    revoked_at: Mapped[datetime | None]
    # signed_out, revoked_by_owner, revoked_by_admin, account_disabled, idle, reuse...
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    second_factor: Mapped[str | None] = mapped_column(String(20))  # totp | recovery_code
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class ApiClient(IdMixin, TimestampMixin, Base):
    """Another government system calling the API with client credentials."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(80), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)


class RefreshToken(IdMixin, Base):
    """One link of a rotating refresh-token family; a reused link revokes the family."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AccessLogEntry(IdMixin, Base):
    """Who read unmasked personal data or a hotline record, when, and through which request."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_record", "record_type", "record_id"),
        Index("ix_access_log_actor_at", "actor_id", "at"),
        Index("ix_access_log_subject_ids", "subject_ids", postgresql_using="gin"),
    )

    at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    actor_id: Mapped[uuid.UUID | None]
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[uuid.UUID | None]
    # People whose personal data was shown (parties, callers...), to answer "who saw X's data".
    subject_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    detail: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
