"""Deadline rules: how long each stage may take, and the due time on the working-day calendar.

The amounts are data (table `deadline_rules`, changed by administrators through the API);
DEFAULT_RULES are the values migration 0003 seeded and the stand-in for a rule
row that does not exist. Common practice (DOMAIN.md): feedback on an ordinary dispute within
a working day, a complex one settled within 5 working days, people's mediation generally
concluded within one month (司法部《人民调解工作若干规定》Art. 33).

Counting follows the usual rule for legal time limits: the day the clock starts is not
counted and a limit ends at the end of its last day (Asia/Shanghai); a calendar-day limit
that ends on a rest day moves to the next working day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from mediation.cases.calendar import WorkingCalendar
from mediation.cases.enums import Complexity, DeadlineStage, DeadlineUnit
from mediation.clock import CENTER_TZ, center_date

END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Rule:
    unit: DeadlineUnit
    amount: int


_WD = DeadlineUnit.working_days
DEFAULT_RULES: dict[tuple[DeadlineStage, Complexity], Rule] = {
    (DeadlineStage.first_response, Complexity.simple): Rule(_WD, 1),
    (DeadlineStage.first_response, Complexity.complex): Rule(_WD, 1),
    (DeadlineStage.first_response, Complexity.difficult): Rule(_WD, 1),
    (DeadlineStage.mediation, Complexity.simple): Rule(_WD, 3),
    (DeadlineStage.mediation, Complexity.complex): Rule(_WD, 5),
    (DeadlineStage.mediation, Complexity.difficult): Rule(DeadlineUnit.calendar_days, 30),
    (DeadlineStage.follow_up, Complexity.simple): Rule(_WD, 10),
    (DeadlineStage.follow_up, Complexity.complex): Rule(_WD, 10),
    (DeadlineStage.follow_up, Complexity.difficult): Rule(_WD, 10),
}

# Judicial confirmation may be requested within 30 days of the agreement taking effect
# (People's Mediation Law Art. 33).
JUDICIAL_CONFIRMATION_DAYS = 30


def horizon_days(unit: DeadlineUnit, amount: int) -> int:
    """Calendar days after the start that a computation may look at (for loading the table):
    generous enough for the longest Chinese holiday run."""
    if unit is DeadlineUnit.hours:
        return math.ceil(amount / 24) + 1
    return amount * 2 + 30


def due_time(
    started_at: datetime, unit: DeadlineUnit, amount: int, cal: WorkingCalendar
) -> tuple[datetime, bool]:
    """(due time, provisional) for a limit of `amount` units starting at `started_at`."""
    if unit is DeadlineUnit.hours:
        return started_at + timedelta(hours=amount), False
    start_day = center_date(started_at)
    if unit is DeadlineUnit.working_days:
        last, provisional = cal.add_working_days(start_day, amount)
    else:
        # Only the last day matters for a calendar-day limit: whether it is a rest day.
        last, provisional = cal.roll_forward(start_day + timedelta(days=amount))
    return datetime.combine(last, END_OF_DAY, CENTER_TZ), provisional


def pause_shift(
    unit: DeadlineUnit, paused_at: datetime, resumed_at: datetime, cal: WorkingCalendar
) -> int:
    """How far a pause moves a deadline, in the rule's unit: the clock stops while waiting on
    a party (working days paused, calendar days, or started hours)."""
    if resumed_at <= paused_at:
        return 0
    if unit is DeadlineUnit.hours:
        return math.ceil((resumed_at - paused_at).total_seconds() / 3600)
    a = center_date(paused_at)
    b = center_date(resumed_at)
    if unit is DeadlineUnit.calendar_days:
        return (b - a).days
    return cal.working_days_between(a, b)
