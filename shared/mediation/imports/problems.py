"""Problem codes of the history import rules (see mediation.errors.rule_code)."""

from __future__ import annotations

from mediation.errors import rule_code

IMPORT_FILE_EMPTY = rule_code("import-file-empty", "The uploaded file is empty.")
IMPORT_NOT_VALIDATED = rule_code(
    "import-not-validated", "The file is still being validated: poll its job, then commit."
)
IMPORT_HAS_PROBLEMS = rule_code(
    "import-has-problems",
    "The file has problems (see `problems` or the annotated sheet): nothing can be imported.",
)
