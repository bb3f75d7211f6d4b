"""The queries of the deadline rules and the official working-day calendar."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, literal, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.cases.calendar import DayInfo, WorkingCalendar
from mediation.cases.deadlines import Rule
from mediation.cases.enums import Complexity, DeadlineStage
from mediation.cases.models import CalendarDay, DeadlineRule


class CalendarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rule(self, stage: DeadlineStage, complexity: Complexity) -> DeadlineRule | None:
        return await self.session.get(DeadlineRule, (stage, complexity))

    async def rule_and_calendar(
        self, stage: DeadlineStage, complexity: Complexity, start: date, end: date
    ) -> tuple[Rule | None, dict[date, DayInfo]]:
        """A stage's rule row (None when it is missing) and the calendar days from `start` to
        `end`, in one statement (the first deadline of an intake)."""
        anchor = select(literal(1).label("one")).subquery("anchor")
        stmt = (
            select(
                DeadlineRule.unit,
                DeadlineRule.amount,
                CalendarDay.day,
                CalendarDay.is_working_day,
                CalendarDay.provisional,
                CalendarDay.source,
                CalendarDay.name,
            )
            .select_from(anchor)
            .outerjoin(
                DeadlineRule,
                and_(DeadlineRule.stage == stage, DeadlineRule.complexity == complexity),
            )
            .outerjoin(CalendarDay, and_(CalendarDay.day >= start, CalendarDay.day <= end))
        )
        rows = (await self.session.execute(stmt)).all()
        rule = Rule(rows[0].unit, rows[0].amount) if rows and rows[0].unit is not None else None
        days = {
            r.day: DayInfo(r.day, r.is_working_day, r.provisional, r.source, r.name)
            for r in rows
            if r.day is not None
        }
        return rule, days

    async def rules(self) -> list[DeadlineRule]:
        return list((await self.session.scalars(select(DeadlineRule))).all())

    async def calendar(self, start: date, end: date) -> WorkingCalendar:
        rows = await self.session.scalars(
            select(CalendarDay).where(CalendarDay.day >= start, CalendarDay.day <= end)
        )
        return WorkingCalendar(
            {
                r.day: DayInfo(r.day, r.is_working_day, r.provisional, r.source, r.name)
                for r in rows.all()
            }
        )

    async def calendar_year(self, year: int) -> list[CalendarDay]:
        stmt = (
            select(CalendarDay)
            .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
            .order_by(CalendarDay.day)
        )
        return list((await self.session.scalars(stmt)).all())

    async def replace_calendar_year(self, year: int, days: list[DayInfo]) -> None:
        await self.session.execute(
            text("DELETE FROM calendar_days WHERE day BETWEEN :a AND :b"),
            {"a": date(year, 1, 1), "b": date(year, 12, 31)},
        )
        await self.session.execute(
            insert(CalendarDay),
            [
                {
                    "day": d.day,
                    "is_working_day": d.working,
                    "name": d.name,
                    "provisional": d.provisional,
                    "source": d.source,
                }
                for d in days
            ],
        )
