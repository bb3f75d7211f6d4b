"""API bodies of opening balances (`mediation.stats.balances`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from mediation.contracts.common import Contract, Input, Instant
from mediation.stats.periods import MONTH_PATTERN

MAX_COUNT = 10_000_000
CategoryCode = Annotated[str, StringConstraints(min_length=1, max_length=60)]
CategoryCount = Annotated[int, Field(ge=0, le=MAX_COUNT)]


def _count(what: str) -> int:
    return Field(0, ge=0, le=MAX_COUNT, description=what)  # type: ignore[no-any-return]


class BalanceTotals(Input):
    """The totals of a unit's month kept only as totals (0 where unknown)."""

    received: int = _count("Cases received in the month.")
    resolved: int = _count("Cases resolved (调解成功) in the month.")
    failed: int = _count("Cases that failed (调解不成) in the month.")
    withdrawn: int = _count("Cases withdrawn in the month.")
    categories: dict[CategoryCode, CategoryCount] = Field(
        default_factory=dict,
        max_length=100,
        description="Cases received by dispute category code (`dispute_category`); their sum "
        "is at most `received`, the rest is not broken down.",
    )
    hotline_calls: int = _count("Hotline calls taken.")
    outreach_activities: int = _count("Legal-awareness activities held.")
    outreach_participants: int = _count("Their participants.")
    micro_classes: int = _count("Micro-classes held.")
    micro_class_participants: int = _count("Their participants.")
    note: str | None = Field(None, max_length=2000, description="Where the totals come from.")


class OpeningBalanceCreate(BalanceTotals):
    """An opening balance entered by hand: a unit of your jurisdiction and a month before
    this one; at least one total above 0."""

    unit_id: uuid.UUID = Field(description="The unit the totals are of.")
    month: str = Field(
        pattern=MONTH_PATTERN, description="The month, YYYY-MM (2000-01 to last month)."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "unit_id": "0195f7a2-8c1e-7000-8000-000000000001",
                    "month": "2022-11",
                    "received": 12,
                    "resolved": 10,
                    "failed": 2,
                    "categories": {"neighbourhood": 5, "marriage_family": 3},
                    "hotline_calls": 200,
                    "note": "2023年以前只有月度合计（工作站台账）",
                }
            ]
        }
    }


class BalanceSource(Contract):
    """Where a balance came from: an import (file and row) or a person's entry."""

    import_id: uuid.UUID | None = Field(description="The import, if imported.")
    row: int | None = Field(description="Its row in the imported sheet.")
    created_by_name: str = Field(description="Who imported or entered it.")


class OpeningBalanceOut(Contract):
    """The totals of a unit's month without records: added to the month's statistics,
    whose reports then say 含期初汇总数."""

    id: uuid.UUID = Field(description="Identifier.")
    unit_id: uuid.UUID = Field(description="The unit.")
    unit_path: str = Field(description="Its path in the tree.")
    month: str = Field(description="The month, YYYY-MM.")
    received: int = Field(description="Cases received.")
    resolved: int = Field(description="Cases resolved.")
    failed: int = Field(description="Cases failed.")
    withdrawn: int = Field(description="Cases withdrawn.")
    categories: dict[str, int] = Field(description="Cases received by category code.")
    hotline_calls: int = Field(description="Hotline calls.")
    outreach_activities: int = Field(description="Activities.")
    outreach_participants: int = Field(description="Their participants.")
    micro_classes: int = Field(description="Micro-classes.")
    micro_class_participants: int = Field(description="Their participants.")
    note: str | None = Field(description="Where the totals come from.")
    source: BalanceSource = Field(description="Imported or entered, by whom.")
    created_at: Instant = Field(description="When it was recorded.")
    recompute_job_id: uuid.UUID | None = Field(
        None,
        description="On creation: the job recomputing the month's report, when the month "
        "was already reported (poll `/jobs/{id}`).",
    )
