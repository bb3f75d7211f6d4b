"""Opening balances entered by hand (imported ones come through `/imports`): checked like an
imported row (a past month, a unit of the jurisdiction, known categories), one per unit and
month. A month already reported is recomputed, so its report counts the new totals."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope
from mediation.cases.problems import UNIT_NOT_IN_JURISDICTION
from mediation.clock import Clock, center_date
from mediation.errors import Conflict, Unprocessable
from mediation.ids import uuid7
from mediation.org.models import Unit
from mediation.outbox.events import emit
from mediation.reference.data import ReferenceKind
from mediation.stats import periods, problems
from mediation.stats.balance_contracts import (
    BalanceSource,
    OpeningBalanceCreate,
    OpeningBalanceOut,
)
from mediation.stats.balances import COUNTS, OpeningBalance
from mediation.stats.enums import ReportKind
from mediation.stats.events import OpeningBalanceRecorded
from mediation.stats.models import Job, StatsReport
from mediation_api.pagination import id_page
from mediation_api.reference.repository import ReferenceRepository
from mediation_api.shown import shown
from mediation_api.stats.service import StatsService

EARLIEST = date(2000, 1, 1)


def balance_out(b: OpeningBalance, job: Job | None = None) -> OpeningBalanceOut:
    return shown(
        OpeningBalanceOut,
        b,
        month=periods.label(b.month_start.year, b.month_start.month),
        categories=dict(b.categories),
        source=BalanceSource(
            import_id=b.import_id, row=b.import_row, created_by_name=b.created_by_name
        ),
        recompute_job_id=job.id if job else None,
    )


class BalanceService:
    def __init__(self, session: AsyncSession, clock: Clock, principal: Principal) -> None:
        self.session, self.clock, self.principal = session, clock, principal

    async def page(
        self, unit_id: uuid.UUID | None, limit: int, cursor: str | None
    ) -> tuple[list[OpeningBalance], str | None]:
        """Oldest recorded first; of the unit's subtree when given."""
        stmt = select(OpeningBalance).where(in_scope(OpeningBalance.unit_path, self.principal))
        if unit_id is not None:
            unit = await self.session.get(Unit, unit_id)
            path = unit.path if unit is not None else "-"  # an unknown unit has no balances
            stmt = stmt.where(OpeningBalance.unit_path.startswith(path, autoescape=True))
        return await id_page(self.session, stmt, OpeningBalance.id, limit, cursor)

    async def create(self, body: OpeningBalanceCreate) -> tuple[OpeningBalance, Job | None]:
        p, now = self.principal, self.clock.now()
        unit = (
            await self.session.scalars(
                select(Unit).where(Unit.id == body.unit_id, in_scope(Unit.path, p))
            )
        ).one_or_none()
        if unit is None:
            raise Unprocessable(
                "No unit with this id in your jurisdiction.",
                field="body.unit_id",
                code=UNIT_NOT_IN_JURISDICTION,
            )
        year, month = periods.parse(body.month)
        first = date(year, month, 1)
        this_month = center_date(now).replace(day=1)
        if not EARLIEST <= first < this_month:
            raise Unprocessable(
                "An opening balance is for a month between 2000-01 and last month.",
                field="body.month",
                code=problems.BALANCE_MONTH,
            )
        errors = await self._errors(body)
        if errors:
            raise Unprocessable(
                "The totals are not consistent; see errors.",
                errors=errors,
                code=problems.BALANCE_INCONSISTENT,
            )
        taken = await self.session.scalar(
            select(OpeningBalance.id).where(
                OpeningBalance.unit_id == unit.id, OpeningBalance.month_start == first
            )
        )
        if taken is not None:
            raise Conflict(
                f"{unit.name} already has an opening balance for {body.month} (one per month).",
                code=problems.BALANCE_EXISTS,
            )
        balance = OpeningBalance(
            id=uuid7(),
            unit_id=unit.id,
            unit_path=unit.path,
            month_start=first,
            **{key: getattr(body, key) for key in COUNTS},
            categories=dict(body.categories),
            note=body.note,
            created_by_id=p.id,
            created_by_name=p.client_id or p.name,
            version=1,
            historical=False,
            created_at=now,
            updated_at=now,
        )
        self.session.add(balance)
        await self.session.flush()
        await emit(
            self.session,
            OpeningBalanceRecorded(balance_id=balance.id, unit_id=unit.id, month=body.month),
            aggregate_id=balance.id,
            occurred_at=now,
            unit_path=unit.path,
            actor_id=p.id,
        )
        job = None
        reported = await self.session.scalar(
            select(StatsReport.id)
            .where(
                StatsReport.kind == ReportKind.monthly,
                StatsReport.year == year,
                StatsReport.month == month,
            )
            .limit(1)
        )
        if reported is not None:  # its report would not count the totals until recomputed
            job, _ = await StatsService(self.session, self.clock, p).recompute(year, month)
        return balance, job

    async def _errors(self, body: OpeningBalanceCreate) -> list[dict[str, str]]:
        errors = []
        if not any(getattr(body, key) for key in COUNTS):
            errors.append({"field": "body", "message": "Give at least one total above 0."})
        if body.categories:
            known = await ReferenceRepository(self.session).enabled_codes(
                ReferenceKind.dispute_category
            )
            errors += [
                {
                    "field": f"body.categories.{code}",
                    "message": f"`{code}` is not an enabled dispute category.",
                }
                for code in body.categories
                if code not in known
            ]
            if sum(body.categories.values()) > body.received:
                errors.append(
                    {
                        "field": "body.categories",
                        "message": "The cases by category add up to more than `received`.",
                    }
                )
        return errors
