"""Attachments (附件) of the case file. The bytes live in the storage (local directory or an
S3-compatible store) under `storage_key`; the row holds what the content was found to be and
the record it belongs to, whose access rules it follows."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mediation.casefiles.enums import AttachmentCategory, FileType, OwnerType
from mediation.db import Base, IdMixin, TimestampMixin
from mediation.org.models import enum_type, unit_path_index


class Attachment(IdMixin, TimestampMixin, Base):
    __tablename__ = "attachments"
    __table_args__ = (
        # The owner's list, newest last (UUIDv7 ids follow creation order).
        Index("ix_attachments_owner", "owner_type", "owner_id", "id"),
        # Everything of one case file: the case's own, its follow-ups' and sessions'.
        Index(
            "ix_attachments_case_id_id",
            "case_id",
            "id",
            postgresql_where=text("case_id IS NOT NULL"),
        ),
        unit_path_index("attachments"),
    )

    owner_type: Mapped[OwnerType] = mapped_column(enum_type(OwnerType, "attachment_owner_type"))
    owner_id: Mapped[uuid.UUID]
    # The case the owner belongs to (null for hotline calls: their attachments never join a
    # case file, even when the call opened a case).
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(400))

    category: Mapped[AttachmentCategory] = mapped_column(
        enum_type(AttachmentCategory, "attachment_category")
    )
    title: Mapped[str | None] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(255))
    file_type: Mapped[FileType] = mapped_column(enum_type(FileType, "attachment_file_type"))
    media_type: Mapped[str] = mapped_column(String(100))
    # The part's Content-Type as the client sent it (kept for the record; never trusted).
    declared_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_backend: Mapped[str] = mapped_column(String(10))
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)

    recording_consent: Mapped[bool] = mapped_column(default=False)
    consent_note: Mapped[str | None] = mapped_column(String(500))

    uploaded_by_kind: Mapped[str] = mapped_column(String(10))
    uploaded_by_id: Mapped[uuid.UUID]
    uploaded_by_person_id: Mapped[uuid.UUID | None]
    uploaded_by_name: Mapped[str] = mapped_column(String(200))

    # Removal keeps the row (the case file shows what was there and who removed it); the
    # bytes are deleted from the storage.
    deleted_at: Mapped[datetime | None]
    deleted_by_name: Mapped[str | None] = mapped_column(String(200))
    delete_reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(default=1)
