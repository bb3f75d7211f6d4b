"""Reference data: lists an administrator can extend (dispute categories, hotline topics...)."""

from __future__ import annotations

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base, IdMixin, TimestampMixin


class ReferenceItem(IdMixin, TimestampMixin, Base):
    __tablename__ = "reference_items"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    kind: Mapped[str] = mapped_column(String(40), index=True)
    code: Mapped[str] = mapped_column(String(60))
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    view_order: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
