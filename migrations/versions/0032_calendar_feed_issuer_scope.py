"""calendar feeds issued by a dispatcher keep the dispatcher's jurisdiction

A dispatcher may issue a mediator's feed only when their jurisdiction covers every place the
mediator mediates; the feed then stays in the dispatcher's hands. When the mediator later took
a role elsewhere, that address listed the new place's sessions too (case numbers, places,
meeting links the dispatcher cannot read). The feed now records the issuer's subtrees and lists
only sessions under them; NULL for a person's own feed (all their sessions) and for the feeds
issued before this revision (who issued them, and with what jurisdiction, was not recorded).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 17:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0032"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "session_calendar_feeds",
        sa.Column("scope_paths", postgresql.ARRAY(sa.String(length=400)), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("session_calendar_feeds", "scope_paths")
