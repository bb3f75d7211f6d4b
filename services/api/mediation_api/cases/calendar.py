"""The working-day calendar and the deadline rules as data administrators change: loading a
year's official schedule recomputes every running deadline it affects."""

from __future__ import annotations

import zlib
from datetime import date, datetime, time

from mediation.cases.calendar import DayInfo, package_year, year_from_schedule
from mediation.cases.contracts import (
    CalendarYearIn,
    CalendarYearOut,
    DeadlineRuleIn,
    DeadlineRuleOut,
    NamedDate,
)
from mediation.cases.deadlines import DEFAULT_RULES
from mediation.cases.enums import CaseEventType, Complexity, DeadlineStage
from mediation.cases.events import CalendarYearLoaded, DeadlineRuleUpdated
from mediation.cases.models import DeadlineRule
from mediation.cases.problems import CALENDAR_DAY_INVALID
from mediation.clock import CENTER_TZ
from mediation.contracts.etag import check_if_match, etag_of
from mediation.errors import VALIDATION, Unprocessable
from mediation.outbox.events import emit
from mediation_api.cases.deadlines import DeadlineKeeper
from mediation_api.cases.repository import CaseRepository
from mediation_api.cases.service import CaseService
from mediation_api.request_service import RequestService

MIN_YEAR, MAX_YEAR = 2000, 2100


def rule_key(stage: DeadlineStage, complexity: Complexity) -> str:
    return f"{stage.value}:{complexity.value}"


def year_out(year: int, days: list[DayInfo], recomputed: int = 0) -> CalendarYearOut:
    holidays = [
        NamedDate(date=d.day, name=d.name or "休息日")
        for d in days
        if not d.working and (d.day.weekday() < 5 or d.name)
    ]
    moved = [
        NamedDate(date=d.day, name=d.name or "调休上班")
        for d in days
        if d.working and d.day.weekday() >= 5
    ]
    sources = sorted({d.source for d in days})
    return CalendarYearOut(
        year=year,
        provisional=any(d.provisional for d in days),
        source="; ".join(sources),
        working_days=sum(1 for d in days if d.working),
        holidays=holidays,
        working_weekends=moved,
        recomputed_cases=recomputed,
    )


def year_version(out: CalendarYearOut) -> int:
    """A content-derived version: the ETag changes exactly when the year's days change."""
    raw = out.model_dump_json(include={"holidays", "working_weekends", "provisional"})
    return zlib.crc32(raw.encode())


def year_etag(year: int, out: CalendarYearOut) -> str:
    return etag_of(f"calendar-{year}", year_version(out))


class CalendarService(RequestService[CaseRepository]):
    repository = CaseRepository

    async def year(self, year: int) -> CalendarYearOut:
        rows = await self.repo.calendar_year(year)
        by_day = {
            r.day: DayInfo(r.day, r.is_working_day, r.provisional, r.source, r.name) for r in rows
        }
        # Days the table lacks show what deadlines would use for them: the package data.
        days = [by_day.get(d.day, d) for d in package_year(year)]
        return year_out(year, days)

    async def load_year(
        self, year: int, body: CalendarYearIn, if_match: str | None
    ) -> CalendarYearOut:
        """Replace a year with the official schedule and recompute affected deadlines; the
        precondition is the ETag of the year as it is (`year_etag`)."""
        current = await self.year(year)
        check_if_match(if_match, f"calendar-{year}", year_version(current))
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise Unprocessable(
                f"The year must be between {MIN_YEAR} and {MAX_YEAR}.",
                field="path.year",
                code=VALIDATION,
            )
        holidays: dict[date, str] = {}
        for i, h in enumerate(body.holidays):
            if h.date.year != year:
                raise Unprocessable(
                    f"{h.date} is not in {year}.",
                    field=f"body.holidays.{i}",
                    code=CALENDAR_DAY_INVALID,
                )
            holidays[h.date] = h.name
        moved: dict[date, str] = {}
        for i, w in enumerate(body.working_weekends):
            field = f"body.working_weekends.{i}"
            if w.date.year != year:
                raise Unprocessable(
                    f"{w.date} is not in {year}.", field=field, code=CALENDAR_DAY_INVALID
                )
            if w.date.weekday() < 5:
                raise Unprocessable(
                    f"{w.date} is a weekday; only weekend days are moved working days.",
                    field=field,
                    code=CALENDAR_DAY_INVALID,
                )
            if w.date in holidays:
                raise Unprocessable(
                    f"{w.date} cannot be a holiday and a working day.",
                    field=field,
                    code=CALENDAR_DAY_INVALID,
                )
            moved[w.date] = w.name
        days = year_from_schedule(year, holidays, moved, body.source)
        if year_out(year, days) == current:  # the schedule it holds, from the same source
            return current
        await self.repo.replace_calendar_year(year, days)
        recomputed = await self.recompute(datetime.combine(date(year, 1, 1), time(0), CENTER_TZ))
        await emit(
            self.session,
            CalendarYearLoaded(year=year, source=body.source, recomputed_cases=recomputed),
            aggregate_id=None,
            occurred_at=self.clock.now(),
            actor_id=self.principal.id,
        )
        return year_out(year, days, recomputed)

    async def recompute(self, since: datetime) -> int:
        """Recompute running deadlines that are provisional or end after `since`; each case
        whose due time changes gets a timeline entry, an event and a new version."""
        await self.session.flush()
        keeper = DeadlineKeeper(self.repo)
        cases = CaseService(self.session, self.clock, self.settings, self.principal)
        changed = 0
        for d, case in await self.repo.deadlines_to_recompute(since):
            before, was_provisional = d.due_at, d.provisional
            # The pauses were counted on the calendar of their time (perhaps the estimate of
            # this year): count them again on the loaded one.
            await keeper.recount_pauses(d)
            if not await keeper.compute(d):
                continue
            keeper.mirror(case, d)
            case.version += 1
            changed += 1
            info = {
                "stage": d.stage.value,
                "previous_due_at": before,
                "previous_provisional": was_provisional,
                "due_at": d.due_at,
                "provisional": d.provisional,
            }
            await cases.record(case, CaseEventType.deadline_recomputed, data=info, extra=info)
        return changed

    # --- rules --------------------------------------------------------------------------
    async def rules(self) -> list[tuple[DeadlineRuleOut, str]]:
        stored = {(r.stage, r.complexity): r for r in await self.repo.rules()}
        out = []
        for (stage, complexity), default in DEFAULT_RULES.items():
            row = stored.get((stage, complexity))
            rule = DeadlineRuleOut(
                stage=stage,
                complexity=complexity,
                unit=row.unit if row else default.unit,
                amount=row.amount if row else default.amount,
                version=row.version if row else 0,
            )
            out.append((rule, rule_key(stage, complexity)))
        return out

    async def set_rule(
        self,
        stage: DeadlineStage,
        complexity: Complexity,
        body: DeadlineRuleIn,
        if_match: str | None,
    ) -> DeadlineRuleOut:
        row = await self.repo.rule(stage, complexity)
        check_if_match(if_match, rule_key(stage, complexity), row.version if row else 0)
        if row is None:  # a default never stored yet
            row = DeadlineRule(stage=stage, complexity=complexity, version=0)
            self.session.add(row)
        elif (row.unit, row.amount) == (body.unit, body.amount):  # the rule as it is
            return DeadlineRuleOut.model_validate(row)
        row.unit, row.amount = body.unit, body.amount
        row.version += 1
        row.updated_by = self.principal.name
        await self.session.flush()
        await emit(
            self.session,
            DeadlineRuleUpdated(
                stage=stage, complexity=complexity, unit=body.unit, amount=body.amount
            ),
            aggregate_id=None,
            occurred_at=self.clock.now(),
            actor_id=self.principal.id,
        )
        return DeadlineRuleOut.model_validate(row)
