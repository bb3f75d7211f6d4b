"""Opening balances (期初汇总数): for a unit and a month whose records were never kept one by
one (only totals, "200+ calls before 2023"), the totals themselves. The monthly statistics
add them to the unit's figures, and every report that includes any says so (含期初汇总数).

A balance is imported from a sheet (kind `opening_balances`, its source kept) or entered by
the system administrator; one per unit and month."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base, IdMixin, TimestampMixin
from mediation.imports.source import ImportSource
from mediation.org.models import unit_path_index

# The totals a balance holds, as the statistics name them (stats_rows columns).
COUNTS: tuple[str, ...] = (
    "received",
    "resolved",
    "failed",
    "withdrawn",
    "hotline_calls",
    "outreach_activities",
    "outreach_participants",
    "micro_classes",
    "micro_class_participants",
)


def _count() -> Mapped[int]:
    return mapped_column(default=0, server_default=text("0"))


class OpeningBalance(IdMixin, TimestampMixin, ImportSource, Base):
    __tablename__ = "opening_balances"
    __table_args__ = (
        UniqueConstraint("unit_id", "month_start"),
        UniqueConstraint("import_sha256", "import_row"),
        CheckConstraint("extract(day FROM month_start) = 1", name="first_of_month"),
        CheckConstraint(
            "least(received, resolved, failed, withdrawn, hotline_calls, outreach_activities, "
            "outreach_participants, micro_classes, micro_class_participants) >= 0",
            name="counts_not_negative",
        ),
        unit_path_index("opening_balances"),
        # Monthly statistics: a month's balances in a subtree.
        Index("ix_opening_balances_month_start", "month_start"),
    )

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))
    month_start: Mapped[date]  # the month (its first day, Beijing calendar)
    received: Mapped[int] = _count()  # cases received
    resolved: Mapped[int] = _count()  # ... and their outcomes in the month
    failed: Mapped[int] = _count()
    withdrawn: Mapped[int] = _count()
    # Cases received by dispute category: {"neighbour": 5}; the rest is not broken down.
    categories: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    hotline_calls: Mapped[int] = _count()
    outreach_activities: Mapped[int] = _count()
    outreach_participants: Mapped[int] = _count()
    micro_classes: Mapped[int] = _count()
    micro_class_participants: Mapped[int] = _count()
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None]
    created_by_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)
