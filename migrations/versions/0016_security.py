"""security (issue 18, item 1): 三员分立 replaces the single `admin` role

The all-powerful `admin` becomes three roles no account may combine: `system_admin`
(organisation, reference data, configuration), `security_admin` (accounts, role
assignments) and `audit_admin` (reads the audit trail). Existing `admin` assignments move to
`system_admin`; the security and audit administrators are appointed afterwards (`mediation
create-user`). The role column is a VARCHAR without a CHECK, so only rows change.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-05 14:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE role_assignments SET role = 'system_admin' WHERE role = 'admin'")


def downgrade() -> None:
    # The three administrators fold back into the one they came from.
    op.execute(
        "UPDATE role_assignments SET role = 'admin'"
        " WHERE role IN ('system_admin', 'security_admin', 'audit_admin')"
    )
