"""Pure rules of mediation sessions: which case statuses allow a session, the room key the
booking constraint compares, and the time limits of a planned session."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from mediation.cases.enums import CaseStatus
from mediation.errors import Conflict

# A session is planned for a case that is being handled: accepted, assigned or in mediation
# (a paused case may meet too: the pause waits on a party, the session may be what it waits
# for). A received case is accepted first; a resolved, failed, closed, rejected or withdrawn
# case has no more sessions.
SCHEDULABLE: frozenset[CaseStatus] = frozenset(
    {CaseStatus.accepted, CaseStatus.assigned, CaseStatus.in_mediation}
)
MAX_DURATION = timedelta(hours=12)
# A session is planned ahead; this much slack covers a clock or a form filled in just late.
PAST_SLACK = timedelta(minutes=15)
# Reminder leads (a day and an hour before), with their Chinese wording for templates.
REMINDER_LEADS: dict[str, tuple[timedelta, str]] = {
    "day_before": (timedelta(days=1), "1天"),
    "hour_before": (timedelta(hours=1), "1小时"),
}

_SPACE = re.compile(r"\s+")


def place_key(place: str | None) -> str | None:
    """The room as the double-booking constraint compares it: NFKC (full-width letters and
    digits become ASCII), without whitespace, case-folded. "先锋社区 调解室" and
    "先锋社区调解室" are one room. Name rooms fully (with their community), so two rooms called
    just "调解室" in different communities do not collide."""
    if place is None:
        return None
    key = _SPACE.sub("", unicodedata.normalize("NFKC", place)).casefold()
    return key or None


class DoubleBooking(Conflict):
    """A mediator or the room is already booked then; the problem names the other session."""

    slug = "double-booking"
    title = "Mediator or room already booked"
