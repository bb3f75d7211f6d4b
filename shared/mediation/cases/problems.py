"""Problem codes of the case rules a client may branch on (see mediation.errors.rule_code);
each is listed in the contract's `Problem.code`."""

from __future__ import annotations

from mediation.errors import rule_code

EXTERNAL_REF_NOT_FOR_PEOPLE = rule_code(
    "external-ref-not-for-people", "Only an integration client sends `external_ref`."
)
EXTERNAL_REF_OUT_OF_SCOPE = rule_code(
    "external-ref-out-of-scope",
    "The `external_ref` names a case outside the client's jurisdiction.",
)
UNIT_NOT_IN_JURISDICTION = rule_code(
    "unit-not-in-jurisdiction", "No active unit with this id in the caller's jurisdiction."
)
CASE_ABOVE_DISTRICT = rule_code(
    "case-above-district", "A case is placed at district level or below."
)
MINOR_WITHOUT_GUARDIAN = rule_code("minor-without-guardian", "A minor party needs a guardian.")
ESCALATION_AT_TOP = rule_code(
    "escalation-at-top", "The case is handled at the top of the tree: it cannot go higher."
)
AGREEMENT_BEFORE_DISPUTE = rule_code(
    "agreement-before-dispute", "An agreement cannot take effect before the dispute happened."
)
PARTY_KIND_MISMATCH = rule_code(
    "party-kind-mismatch",
    "A party's fields do not fit its kind: an organisation has no resident ID number or "
    "guardian, a person no unified social credit code.",
)
PARTY_EXISTS = rule_code(
    "party-exists",
    "The case already has this party (every field the same, a field left out counting as "
    "empty); `party_id` names it.",
)
LAST_APPLICANT = rule_code("last-applicant", "The case must keep at least one applicant (申请人).")
HANDLER_WITHOUT_ROLE = rule_code(
    "handler-without-role",
    "A handler named holds no handling role whose jurisdiction covers the case.",
)
ESCALATION_TARGET_NOT_ABOVE = rule_code(
    "escalation-target-not-above", "An escalation's target is a node above the handling level."
)
BEFORE_AGREEMENT = rule_code(
    "before-agreement",
    "Performance, a follow-up visit or a judicial confirmation application cannot precede "
    "the agreement taking effect.",
)
EXTENSION_WITHOUT_CONSENT = rule_code(
    "extension-without-consent", "Mediation is extended only when both parties agree."
)
DEADLINE_TOO_FAR = rule_code(
    "deadline-too-far", "The extended deadline would fall due beyond the planning window."
)
CASE_FINISHED = rule_code(
    "case-finished", "A finished (closed, withdrawn...) case cannot be changed: reopen it first."
)
NO_AGREEMENT = rule_code(
    "no-agreement", "The case has no agreement in force (it is not resolved with one)."
)
AGREEMENT_NOT_WRITTEN = rule_code(
    "agreement-not-written", "Only a written agreement can be judicially confirmed."
)
CONFIRMATION_WINDOW_CLOSED = rule_code(
    "confirmation-window-closed",
    "The 30-day window for applying for judicial confirmation has closed.",
)
CALENDAR_DAY_INVALID = rule_code(
    "calendar-day-invalid",
    "A calendar day is outside the year, a moved working day is not a weekend day, or a day "
    "is both a holiday and a working day.",
)
