"""The queries of the deadline rules and the official working-day calendar."""

from __future__ import annotations

from datetime import date

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.cases.calendar import DayInfo, WorkingCalendar
from mediation.cases.deadlines import Rule
from mediation.cases.enums import Complexity, DeadlineStage, DeadlineUnit
from mediation.cases.models import CalendarDay, DeadlineRule
from mediation.db import driver_connection
from mediation_api.cases.intake import RULE_CALENDAR_SQL

CALENDAR_SQL = (
    "SELECT day, is_working_day, provisional, source, name FROM calendar_days "
    "WHERE day >= $1 AND day <= $2"
)


def rule_and_days(
    rows: list[asyncpg.Record], name: str = "name"
) -> tuple[Rule | None, dict[date, DayInfo]]:
    """RULE_CALENDAR_SQL's rows (or PLACE_CALENDAR_SQL's calendar part, the day's name in
    `name`): the rule (None when its row is missing) and the days by date."""
    first = rows[0] if rows else None
    rule = None
    if first is not None and first["unit"] is not None:
        rule = Rule(DeadlineUnit(first["unit"]), first["amount"])
    days = {
        r["day"]: DayInfo(r["day"], r["is_working_day"], r["provisional"], r["source"], r[name])
        for r in rows
        if r["day"] is not None
    }
    return rule, days


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
        conn = await driver_connection(self.session)
        rows = await conn.fetch(RULE_CALENDAR_SQL, stage.value, complexity.value, start, end)
        return rule_and_days(rows)

    async def rules(self) -> list[DeadlineRule]:
        return list((await self.session.scalars(select(DeadlineRule))).all())

    async def calendar(self, start: date, end: date) -> WorkingCalendar:
        # On the driver: a deadline recomputed in a case action's pipeline (resume, extend)
        # reads it once or twice, and the ORM's select cost more CPU than the rest of the read.
        conn = await driver_connection(self.session)
        rows = await conn.fetch(CALENDAR_SQL, start, end)
        return WorkingCalendar({r[0]: DayInfo(r[0], r[1], r[2], r[3], r[4]) for r in rows})

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
