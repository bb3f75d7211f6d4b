"""Pure rules of the hotline: what a consistent call log is, the risk floor an assessment
implies, when a call is flagged, and gaps in the duty roster. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mediation.errors import rule_code
from mediation.hotline.enums import (
    MINOR_BANDS,
    RISK_ORDER,
    AgeBand,
    IntentFactor,
    RiskLevel,
)

MAX_CALL = timedelta(hours=24)

# Problem codes of the hotline rules a client may branch on (see mediation.errors.rule_code).
WORKSTATION_REQUIRED = rule_code(
    "workstation-required", "You work at several workstations: say which (`unit_id`)."
)
NOT_YOUR_WORKSTATION = rule_code(
    "not-your-workstation", "The unit is not a workstation you work at."
)
CALL_LOG_INCONSISTENT = rule_code(
    "call-log-inconsistent", "The call log is not consistent; `errors` says where."
)
CALL_DEIDENTIFIED = rule_code(
    "call-deidentified",
    "The call was de-identified after its retention period: it no longer changes.",
)
CALL_NOT_FLAGGED = rule_code(
    "call-not-flagged", "The call is not flagged: there is nothing to acknowledge."
)
FLAG_ACKNOWLEDGED = rule_code(
    "flag-already-acknowledged", "The call's flag was already acknowledged."
)
CALL_HAS_CASE = rule_code("call-has-case", "A case was already opened from this call.")
NOT_A_COUNSELOR = rule_code(
    "not-a-counselor", "That person is not a counselor of this workstation."
)
SHIFT_INVALID = rule_code("shift-invalid", "The duty shift is not valid; `errors` says why.")
SHIFT_OVERLAP = rule_code(
    "shift-overlap", "That person already has a duty shift overlapping this one."
)


@dataclass(frozen=True)
class Assessment:
    """The structured assessment, as the rules need it (built from the contract)."""

    suicidal_desire: bool
    desire_factors: tuple[str, ...]
    suicidal_capability: bool
    capability_factors: tuple[str, ...]
    suicidal_intent: bool
    intent_factors: tuple[str, ...]


@dataclass(frozen=True)
class CallFacts:
    """Everything the consistency rules look at, for a new call or a call after a change."""

    started_at: datetime
    ended_at: datetime | None
    caller_anonymous: bool
    caller_alias: str | None
    age_band: AgeBand | None
    is_minor: bool | None
    callback_consent: bool
    has_callback_number: bool
    risk_level: RiskLevel | None
    imminent_risk: bool
    assessment: Assessment | None
    follow_up_due: datetime | None


FieldErrors = list[dict[str, str]]


def minimum_level(a: Assessment) -> RiskLevel:
    """The lowest level an assessment allows. Desire, capability and intent together are
    high risk whatever the buffers; desire with one of the other two is at least medium."""
    if a.suicidal_desire and a.suicidal_capability and a.suicidal_intent:
        return RiskLevel.high
    if a.suicidal_desire and (a.suicidal_capability or a.suicidal_intent):
        return RiskLevel.medium
    if a.suicidal_desire or a.suicidal_intent:
        return RiskLevel.low
    return RiskLevel.none


def below(level: RiskLevel, floor: RiskLevel) -> bool:
    return RISK_ORDER.index(level) < RISK_ORDER.index(floor)


def is_flagged_risk(level: RiskLevel | None, imminent: bool) -> bool:
    """High or imminent risk: the on-duty supervisor is told at once."""
    return imminent or level is RiskLevel.high


def check_call(f: CallFacts) -> FieldErrors:
    """All the errors at once, each with the field it is about (problem+json `errors`). The
    times themselves lie in their windows already (`mediation.contracts.windows.CALL`)."""
    errors: FieldErrors = []

    def err(field: str, message: str) -> None:
        errors.append({"field": f"body.{field}", "message": message})

    if f.ended_at is not None:
        if f.ended_at < f.started_at:
            err("ended_at", "The call cannot end before it starts.")
        elif f.ended_at - f.started_at > MAX_CALL:
            err("ended_at", "A call cannot last more than 24 hours.")
    if f.follow_up_due is not None and f.follow_up_due < f.started_at:
        err("follow_up_due", "A follow-up cannot be due before the call.")

    # The caller.
    if f.caller_anonymous and f.caller_alias:
        err("caller.alias", "An anonymous caller has no name or alias; set anonymous=false.")
    if f.has_callback_number and not f.callback_consent:
        err(
            "caller.callback_number",
            "A callback number may be kept only with the caller's consent (callback_consent).",
        )
    if f.is_minor is True:
        if f.age_band is None or f.age_band is AgeBand.unknown:
            err("caller.age_band", "A minor needs an age band (under_14 or 14_17).")
        elif f.age_band not in MINOR_BANDS:
            err("caller.age_band", f"Age band {f.age_band.value} is not a minor's.")
    elif f.is_minor is False and f.age_band in MINOR_BANDS:
        err("caller.is_minor", f"Age band {f.age_band.value} is a minor's; is_minor must be true.")

    # The risk assessment.
    a = f.assessment
    if a is None:
        if f.risk_level is not None:
            err("risk_level", "A risk level needs a risk assessment (risk_assessment).")
        if f.imminent_risk:
            err("imminent_risk", "Imminent risk needs a risk assessment (risk_assessment).")
        return errors
    for present, factors, name in (
        (a.suicidal_desire, a.desire_factors, "desire_factors"),
        (a.suicidal_capability, a.capability_factors, "capability_factors"),
        (a.suicidal_intent, a.intent_factors, "intent_factors"),
    ):
        if factors and not present:
            err(f"risk_assessment.{name}", "Factors are listed for a dimension marked absent.")
    if f.risk_level is None:
        err("risk_level", "A risk assessment needs a risk level.")
    else:
        floor = minimum_level(a)
        if f.imminent_risk and f.risk_level is not RiskLevel.high:
            err("risk_level", "Imminent risk is always high risk.")
        elif below(f.risk_level, floor):
            err(
                "risk_level",
                f"The assessment (desire, capability, intent) means at least "
                f"{floor.value} risk, not {f.risk_level.value}.",
            )
    if IntentFactor.attempt_in_progress.value in a.intent_factors and not f.imminent_risk:
        err("imminent_risk", "An attempt in progress is imminent risk.")
    return errors


def coverage_gaps(
    start: datetime, end: datetime, shifts: Iterable[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) no shift covers (shifts may overlap or extend outside)."""
    gaps: list[tuple[datetime, datetime]] = []
    cursor = start
    for s, e in sorted(shifts):
        if e <= cursor:
            continue
        if s >= end:
            break
        if s > cursor:
            gaps.append((cursor, s))
        cursor = max(cursor, e)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def ancestor_paths(path: str) -> list[str]:
    """The node and every node above it: "1.17.342." -> ["1.", "1.17.", "1.17.342."]."""
    parts = [p for p in path.split(".") if p]
    return [".".join(parts[: i + 1]) + "." for i in range(len(parts))]


# Hotline guidelines keep registration and assessment records at least this long.
MIN_RETENTION_YEARS = 3


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Calls that started before this instant are due for de-identification: the configured
    period, but never less than 3 calendar years (a guard besides the settings floor)."""
    try:
        three_years = now.replace(year=now.year - MIN_RETENTION_YEARS)
    except ValueError:  # 29 February
        three_years = now.replace(year=now.year - MIN_RETENTION_YEARS, day=28)
    return min(now - timedelta(days=retention_days), three_years)
