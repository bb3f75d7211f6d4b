"""sign-in security (issue 18, items 2-4): password policy, second factor, sessions

Users get the password policy's columns (when the password was set, whether it must be
changed at the next sign-in, the hashes of previous passwords) and a second factor (a sealed
TOTP secret, the last time step used, hashed recovery codes). Existing passwords count as
set now, so they expire after the policy's age from this migration on. `auth_sessions` holds
one row per sign-in; its id is the refresh-token family and the access tokens' `sid`.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 17:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE users SET password_changed_at = now()")
    op.add_column(
        "users",
        sa.Column("must_change_password", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column(
        "users",
        sa.Column(
            "password_history", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
    )
    op.add_column("users", sa.Column("totp_key_id", sa.String(length=40)))
    op.add_column("users", sa.Column("totp_secret", sa.LargeBinary()))
    op.add_column("users", sa.Column("totp_confirmed_at", sa.DateTime(timezone=True)))
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger()))
    op.add_column(
        "users",
        sa.Column(
            "recovery_codes", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
    )
    op.create_table(
        "auth_sessions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=40), nullable=True),
        sa.Column("second_factor", sa.String(length=20), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index(
        op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_auth_sessions_user_id"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
    for column in (
        "recovery_codes",
        "totp_last_step",
        "totp_confirmed_at",
        "totp_secret",
        "totp_key_id",
        "password_history",
        "must_change_password",
        "password_changed_at",
    ):
        op.drop_column("users", column)
