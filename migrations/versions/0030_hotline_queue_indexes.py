"""hotline call list (issue 22): each queue filter has an index in the list's order

The call list filtered to a queue (flagged and not acknowledged, follow-up still to do,
imminent risk) walked `ix_hotline_calls_started_at_id` over every call, newest first, to find
the few in the queue: 555 ms at full scale (500,000 calls) for a street whose queue of flagged
calls was empty. A partial index on (started_at, id) per queue, with the list's own terms as
its predicate: 0.05 ms (flagged), 13.7 → 5 ms (follow-up), 44 → 1–6 ms (imminent). Only calls in
a queue take an entry.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 03:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from mediation.hotline.models.QUEUES at this revision (a migration does not import
# application code).
_QUEUES = {
    "awaiting_ack": "flagged_at IS NOT NULL AND acknowledged_at IS NULL",
    "follow_up_open": "follow_up_due IS NOT NULL AND follow_up_done_at IS NULL",
    "imminent": "imminent_risk",
}


def upgrade() -> None:
    for name, where in _QUEUES.items():
        op.create_index(
            f"ix_hotline_calls_{name}_started_at_id",
            "hotline_calls",
            ["started_at", "id"],
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name in _QUEUES:
        op.drop_index(f"ix_hotline_calls_{name}_started_at_id", table_name="hotline_calls")
