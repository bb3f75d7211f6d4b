"""Problem codes of the reference data rules (see mediation.errors.rule_code)."""

from __future__ import annotations

from mediation.errors import rule_code

REFERENCE_UNKNOWN = rule_code(
    "reference-unknown",
    "Not an (enabled) entry of the reference list; see `GET /api/v1/reference/<kind>`.",
)
REFERENCE_CODE_TAKEN = rule_code(
    "reference-code-taken", "The reference list already has an entry with this code."
)
