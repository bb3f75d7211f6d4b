"""The HTTP contract of case files: attachments and their download links."""

from __future__ import annotations

import uuid

from pydantic import Field

from mediation.casefiles.enums import AttachmentCategory, FileType, OwnerType
from mediation.contracts.common import (
    Contract,
    Instant,  # +08:00 on the way out, like every instant
)
from mediation.enums import value_table


class AttachmentOut(Contract):
    """An attachment of a case file. Its bytes are fetched through a signed link
    (`attachments-link`), never from this record."""

    id: uuid.UUID = Field(description="Identifier.")
    owner_type: OwnerType = Field(description="The kind of record it belongs to.")
    owner_id: uuid.UUID = Field(description="The record it belongs to.")
    case_id: uuid.UUID | None = Field(
        description="The case whose file it is part of (null for hotline calls)."
    )
    category: AttachmentCategory = Field(description="What it is in the case file.")
    title: str | None = Field(description="A description given at upload.")
    file_name: str = Field(
        description="File name for saving; its extension is the one of the detected type."
    )
    file_type: FileType = Field(description="The type found in the content (magic bytes).")
    media_type: str = Field(description="The media type served on download.")
    size_bytes: int = Field(description="Size in bytes.")
    sha256: str = Field(description="SHA-256 of the content, hexadecimal.")
    recording_consent: bool = Field(
        description="For audio: the uploader confirmed the recorded people's consent."
    )
    consent_note: str | None = Field(description="How consent was given, if noted.")
    uploaded_by_name: str = Field(description="Who uploaded it.")
    created_at: Instant = Field(description="When it was uploaded.")
    version: int = Field(description="Version (ETag), for removal with If-Match.")


class AttachmentLinkOut(Contract):
    """A short-lived signed download link: open it in a browser, no token needed."""

    url: str = Field(
        description="Path (under this API's origin) that downloads the file until `expires_at`."
    )
    expires_at: Instant = Field(description="When the link stops working.")


class AttachmentRemoveIn(Contract):
    """Why an attachment is removed (kept in the case file's record)."""

    reason: str = Field(min_length=1, max_length=500, description="Why it is removed.")

    model_config = {
        "json_schema_extra": {"examples": [{"reason": "上传错误：误传了其他案件的照片"}]}
    }


# The four upload routes read the same form: declared once in components (main.py).
UPLOAD_FORM = "AttachmentUpload"
UPLOAD_FORM_REF = f"#/components/schemas/{UPLOAD_FORM}"
UPLOAD_FORM_SCHEMA: dict[str, object] = {
    "type": "object",
    "description": "The multipart form of an upload: the file and what it is.",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The file (one). PDF, JPEG, PNG or DOCX; audio (MP3, WAV, M4A, "
            "AMR, OGG) only with recording consent. The type is taken from the content; a "
            "part Content-Type that contradicts it is refused (415).",
        },
        "category": {
            "type": "string",
            "enum": [c.value for c in AttachmentCategory],
            "default": "other",
            # A form field is not a component: the values are described here.
            "description": f"What it is in the case file.\n\n{value_table(AttachmentCategory)}",
        },
        "title": {"type": "string", "maxLength": 200, "description": "A description."},
        "recording_consent": {
            "type": "boolean",
            "default": False,
            "description": "Audio only: the recorded people agreed to be recorded. For a "
            "session's recording, the session itself must record that consent.",
        },
        "consent_note": {
            "type": "string",
            "maxLength": 500,
            "description": "How consent was given (e.g. 双方当事人口头同意录音，已记入笔录).",
        },
    },
}
