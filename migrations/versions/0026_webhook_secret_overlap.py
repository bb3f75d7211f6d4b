"""webhook secret overlap (issue 19, item 8): the secret before the last rotation

`webhook_subscriptions.previous_secret` (plain, like `secret`: it must be readable to sign) and
`previous_secret_expires_at`: until then deliveries carry a signature with it too.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 19:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_subscriptions", sa.Column("previous_secret", sa.String(100), nullable=True)
    )
    op.add_column(
        "webhook_subscriptions",
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("webhook_subscriptions", "previous_secret_expires_at")
    op.drop_column("webhook_subscriptions", "previous_secret")
