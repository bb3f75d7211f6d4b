"""Pure rules of mediation sessions: which case statuses allow a session, the room key the
booking constraint compares, and the time limits of a planned session."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from mediation.cases.enums import CaseStatus
from mediation.errors import Conflict, rule_code

# A session is planned for a case that is being handled: accepted, assigned or in mediation
# (a paused case may meet too: the pause waits on a party, the session may be what it waits
# for). A received case is accepted first; a resolved, failed, closed, rejected or withdrawn
# case has no more sessions.
SCHEDULABLE: frozenset[CaseStatus] = frozenset(
    {CaseStatus.accepted, CaseStatus.assigned, CaseStatus.in_mediation}
)
MAX_DURATION = timedelta(hours=12)
# No session record lasts longer, whoever wrote it (the API plans at most MAX_DURATION; a
# history import may record a day): the table's check says so, and a list of the sessions
# overlapping a range bounds its index scan by it (`starts_at > from - LONGEST`).
LONGEST = timedelta(days=1)
# A session is planned ahead; this much slack covers a clock or a form filled in just late.
PAST_SLACK = timedelta(minutes=15)
# Reminder leads (a day and an hour before), with their Chinese wording for templates.
REMINDER_LEADS: dict[str, tuple[timedelta, str]] = {
    "day_before": (timedelta(days=1), "1天"),
    "hour_before": (timedelta(hours=1), "1小时"),
}

# Problem codes of the session rules a client may branch on (see mediation.errors.rule_code).
CASE_NOT_SCHEDULABLE = rule_code(
    "case-not-schedulable",
    "Sessions are planned only for accepted, assigned or in-mediation cases.",
)
MEDIATOR_WITHOUT_ROLE = rule_code(
    "mediator-without-role",
    "The person holds no mediating role, or none covering the case's place.",
)
KIND_NEEDS_ROLE = rule_code(
    "session-kind-needs-role", "This kind of session needs a mediator of a certain role."
)
PARTY_NOT_ON_CASE = rule_code("party-not-on-case", "No party with this id on the case.")
BOOKING_RACE = rule_code(
    "booking-race", "A mediator or the room was booked at the same moment: try again."
)
NOT_SCHEDULED = rule_code(
    "session-not-scheduled", "Only a scheduled session changes (not a held or cancelled one)."
)
PRIVACY_REASON = rule_code(
    "privacy-reason-mismatch",
    "A private session needs `privacy_reason`; a public one has none.",
)
PLACE_REQUIRED = rule_code("place-required", "An on-site session needs a `place`.")
RESCHEDULE_UNCHANGED = rule_code(
    "reschedule-unchanged", "The session is already planned for this time and place."
)
OUTCOME_TOO_EARLY = rule_code(
    "outcome-before-start", "A session's outcome is recorded after it starts."
)
ATTENDEE_NOT_INVITED = rule_code(
    "attendee-not-invited", "An attendee named is not a mediator or party of the session."
)
HELD_WITHOUT_MEDIATOR = rule_code(
    "held-without-mediator", "A session is held by at least one of its mediators."
)
END_OUT_OF_WINDOW = rule_code(
    "session-end-invalid", "`ended_at` lies after the start and within 12 hours of it."
)
BEFORE_DISPUTE = rule_code(
    "session-before-dispute", "A session about a dispute is not held before it happened."
)

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
