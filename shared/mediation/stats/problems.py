"""Problem codes of the statistics rules (see mediation.errors.rule_code)."""

from __future__ import annotations

from mediation.errors import rule_code

MONTH_NOT_BEGUN = rule_code(
    "month-not-begun", "The month has not begun: reports cover months up to the current one."
)
MONTH_NOT_ENDED = rule_code(
    "month-not-ended", "The month has not ended: `remedy` points at its figures so far."
)
BALANCE_MONTH = rule_code(
    "balance-month-invalid", "An opening balance is for a month between 2000-01 and last month."
)
BALANCE_INCONSISTENT = rule_code(
    "balance-inconsistent", "The opening balance's totals do not add up; `errors` says where."
)
BALANCE_EXISTS = rule_code(
    "balance-exists", "The unit already has an opening balance for that month (one per month)."
)
