"""Problem codes of the case-file rules a client may branch on (see mediation.errors.rule_code);
each is listed in the contract's `Problem.code`."""

from __future__ import annotations

from mediation.errors import rule_code

EVIDENCE_CASE_NOT_OPEN = rule_code(
    "evidence-case-not-open",
    "A case's reporter adds evidence only while it is open; ask its handlers afterwards.",
)
DOCUMENT_NOT_READY = rule_code(
    "document-not-ready",
    "The document prints a record not made yet (the agreement, a follow-up visit, a "
    "session's minutes).",
)
DOCX_AGREEMENT_ONLY = rule_code(
    "docx-agreement-only", "Word (DOCX) is offered for the agreement only; the others are PDF."
)
UPLOAD_PARTS = rule_code(
    "upload-parts",
    "A form carries one part named `file` and a few short fields: one is missing, repeated "
    "or too long.",
)
