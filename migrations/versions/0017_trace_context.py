"""trace context on outbox events and deliveries (issue 23)

The W3C trace context (traceparent, tracestate) of the request that wrote an event, and of
the fan-out that made a delivery: the worker continues that trace through the relay, the
job, the fan-out and every send. NULL when tracing is off.

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-05 14:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable without a default: a catalog-only change, no table rewrite.
    for table in ("outbox_events", "deliveries"):
        op.add_column(
            table, sa.Column("trace_context", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
        )


def downgrade() -> None:
    for table in ("outbox_events", "deliveries"):
        op.drop_column(table, "trace_context")
