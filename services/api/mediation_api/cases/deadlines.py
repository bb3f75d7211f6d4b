"""Running deadlines: start, pause, resume, extend, finish and recompute them against the rule
table and the calendar table (pure counting rules in `mediation.cases.deadlines`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from mediation.cases.calendar import DayInfo, WorkingCalendar
from mediation.cases.deadlines import DEFAULT_RULES, Rule, due_time, horizon_days, pause_shift
from mediation.cases.enums import CaseEventType, Complexity, DeadlineStage, DeadlineUnit
from mediation.cases.models import Case, CaseDeadline, CaseEvent
from mediation.clock import center_date
from mediation.ids import uuid7
from mediation_api.cases.repository import CaseRepository


class DeadlineKeeper:
    def __init__(self, repo: CaseRepository) -> None:
        self.repo = repo

    async def rule(self, stage: DeadlineStage, complexity: Complexity) -> Rule:
        row = await self.repo.rule(stage, complexity)
        # A missing row (a freshly emptied table) falls back to the built-in default.
        return Rule(row.unit, row.amount) if row else DEFAULT_RULES[(stage, complexity)]

    async def calendar_for(
        self, start: datetime, unit: DeadlineUnit, total: int, extra_until: datetime | None = None
    ) -> WorkingCalendar:
        first = center_date(start)
        last = first + timedelta(days=horizon_days(unit, total))
        if extra_until is not None:
            last = max(last, center_date(extra_until) + timedelta(days=1))
        return await self.repo.calendar(first, last)

    async def compute(self, d: CaseDeadline) -> bool:
        """Recompute `d.due_at` and `d.provisional`; True when either changed."""
        total = d.amount + d.extended_by + d.paused_by
        cal = await self.calendar_for(d.started_at, d.unit, total)
        due, provisional = due_time(d.started_at, d.unit, total, cal)
        changed = (due != d.due_at) or (provisional != d.provisional)
        d.due_at, d.provisional = due, provisional
        return changed

    async def start(self, case: Case, stage: DeadlineStage, at: datetime) -> CaseDeadline:
        d = await self.worked_out(case, stage, at)
        self.repo.session.add(d)
        return d

    @staticmethod
    def window(stage: DeadlineStage, complexity: Complexity, at: datetime) -> tuple[date, date]:
        """The calendar days `worked_out` reads with the rule: those the default rule needs."""
        default = DEFAULT_RULES[(stage, complexity)]
        first = center_date(at)
        return first, first + timedelta(days=horizon_days(default.unit, default.amount))

    async def worked_out(
        self,
        case: Case,
        stage: DeadlineStage,
        at: datetime,
        read: tuple[Rule | None, dict[date, DayInfo]] | None = None,
    ) -> CaseDeadline:
        """The stage's deadline starting `at`, mirrored on the case, not added to the session
        (an intake inserts it itself). `read`: the rule and the days of `window`, when the
        caller read them with something else (an intake, with its place)."""
        # The rule and the calendar in one read: the days the default rule needs are loaded
        # with it, and a rule that needs more (an administrator lengthened it) loads again.
        first, loaded = self.window(stage, case.complexity, at)
        if read is None:
            read = await self.repo.rule_and_calendar(stage, case.complexity, first, loaded)
        row, days = read
        rule = row or DEFAULT_RULES[(stage, case.complexity)]
        d = CaseDeadline(
            id=uuid7(),
            case_id=case.id,
            stage=stage,
            unit=rule.unit,
            amount=rule.amount,
            extended_by=0,
            paused_by=0,
            started_at=at,
            due_at=at,
            provisional=False,
        )
        last = first + timedelta(days=horizon_days(rule.unit, rule.amount))
        if last <= loaded:  # exactly the days `compute` would load
            cal = WorkingCalendar({day: info for day, info in days.items() if day <= last})
            d.due_at, d.provisional = due_time(at, rule.unit, rule.amount, cal)
        else:
            await self.compute(d)
        self.mirror(case, d)
        return d

    @staticmethod
    def mirror(case: Case, d: CaseDeadline | None) -> None:
        """Copy the running deadline onto the case row (lists, filters, sweeps)."""
        running = d is not None and d.met_at is None and d.cancelled_at is None
        case.current_stage = d.stage if running and d else None
        case.due_at = d.due_at if running and d else None
        case.due_provisional = bool(running and d and d.provisional)

    async def finish(self, case: Case, at: datetime, *, cancelled: bool = False) -> None:
        d = await self.repo.running_deadline(case.id)
        if d is not None:
            if d.paused_since is not None:  # finishing while paused: count the pause too
                await self._absorb_pause(d, at)
            if cancelled:
                d.cancelled_at = at
            else:
                d.met_at = at
        self.mirror(case, None)

    async def pause(self, case: Case, at: datetime) -> None:
        d = await self.repo.running_deadline(case.id)
        if d is not None:
            d.paused_since = at

    async def _absorb_pause(self, d: CaseDeadline, at: datetime) -> None:
        assert d.paused_since is not None
        d.paused_by += await self.paused_for(d.unit, d.paused_since, at)
        d.paused_since = None

    async def paused_for(self, unit: DeadlineUnit, since: datetime, at: datetime) -> int:
        """What a pause from `since` to `at` adds to a deadline counted in `unit`."""
        cal = await self.calendar_for(since, DeadlineUnit.calendar_days, 0, extra_until=at)
        return pause_shift(unit, since, at, cal)

    async def rebase(self, case: Case) -> CaseDeadline | None:
        """After a complexity change: the running stage takes the new complexity's rule."""
        d = await self.repo.running_deadline(case.id)
        if d is not None:
            await self.take_rule(d, await self.rule(d.stage, case.complexity))
            self.mirror(case, d)
        return d

    async def take_rule(self, d: CaseDeadline, rule: Rule) -> None:
        """`d` counted on `rule` from now on. `paused_by` is in the rule's unit: when the unit
        changes (a case made difficult: working days -> calendar days, or back), the pauses
        already over are counted again in the new unit, from the timeline's paused/resumed
        entries; kept as it was, 9 calendar days paused over a holiday would count as the
        2 working days they held. A pause in progress is counted at its resume."""
        if rule.unit is not d.unit:
            await self.recount_pauses(d, rule.unit)
        d.unit, d.amount = rule.unit, rule.amount
        await self.compute(d)

    async def recount_pauses(self, d: CaseDeadline, unit: DeadlineUnit | None = None) -> None:
        """`d.paused_by` counted again, in `unit` (default: its own) on the calendar as it is
        now, from the timeline's paused/resumed entries; left as it is when the timeline
        holds none of its pauses (a deadline paused_by was set for some other way)."""
        if d.paused_by == 0 and unit in (None, d.unit):
            return  # nothing paused: nothing to recount
        recounted = await self._pauses_in(d, unit or d.unit)
        if recounted is not None:
            d.paused_by = recounted

    async def _pauses_in(self, d: CaseDeadline, unit: DeadlineUnit) -> int | None:
        stmt = (
            select(CaseEvent.type, CaseEvent.at)
            .where(
                CaseEvent.case_id == d.case_id,
                CaseEvent.type.in_((CaseEventType.paused, CaseEventType.resumed)),
                CaseEvent.at >= d.started_at,
            )
            .order_by(CaseEvent.seq)
        )
        total, since, found = 0, None, False
        for type_, at in (await self.repo.session.execute(stmt)).all():
            if type_ is CaseEventType.paused:
                since = at
            elif since is not None:
                total += await self.paused_for(unit, since, at)
                since, found = None, True
        return total if found else None
