"""The jurisdiction tree, people, their role assignments."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, CheckConstraint, Enum, ForeignKey, Index, Sequence, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base, IdMixin, TimestampMixin
from mediation.org.enums import Role, UnitLevel


def enum_type(enum: type, name: str) -> Enum:
    return Enum(
        enum,
        name=name,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        length=40,
        validate_strings=True,
    )


def unit_path_index(table: str) -> Index:
    """The scoping index of a record of the tree: `in_scope` is a prefix match on unit_path."""
    return Index(
        f"ix_{table}_unit_path_prefix",
        "unit_path",
        postgresql_ops={"unit_path": "text_pattern_ops"},
    )


def unit_path_range_index(table: str, column: str) -> Index:
    """Monthly statistics: a range of `column` (a date) first, then the subtree prefix."""
    return Index(
        f"ix_{table}_{column}_unit_path",
        column,
        "unit_path",
        postgresql_ops={"unit_path": "text_pattern_ops"},
    )


UNIT_SEQ = Sequence("units_seq")


class Unit(IdMixin, TimestampMixin, Base):
    """A node of the jurisdiction tree. `path` is the chain of ancestor `seq` numbers
    ("1.17.342."), so a subtree is a prefix match on an indexed column."""

    __tablename__ = "units"
    __table_args__ = (
        Index("ix_units_path_prefix", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    seq: Mapped[int] = mapped_column(BigInteger, UNIT_SEQ, unique=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"), index=True)
    level: Mapped[UnitLevel] = mapped_column(enum_type(UnitLevel, "unit_level"))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)


class Person(IdMixin, TimestampMixin, Base):
    __tablename__ = "people"

    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(200))
    qualifications: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)


class RoleAssignment(IdMixin, TimestampMixin, Base):
    """A person holds a role at a unit from `starts_on` to `ends_on` (inclusive; null: open)."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
        Index("ix_role_assignments_unit_role", "unit_id", "role"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
