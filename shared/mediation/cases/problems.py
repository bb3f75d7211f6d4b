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
