"""API bodies for reference data."""

from __future__ import annotations

import uuid

from pydantic import Field

from mediation.contracts.common import Contract, Input, Instant
from mediation.reference.data import ReferenceKind

CODE_PATTERN = r"^[a-z][a-z0-9_]{1,59}$"


class ReferenceItemOut(Contract):
    """One entry of a reference list, with its Chinese and English labels."""

    id: uuid.UUID = Field(description="Identifier.")
    kind: ReferenceKind = Field(description="Which list this entry belongs to.")
    code: str = Field(description="Stable machine code; other records refer to it.")
    label_zh: str = Field(description="Chinese label shown to staff, e.g. 婚姻家庭.")
    label_en: str = Field(description="English label.")
    description: str | None = Field(description="Longer explanation, if any.")
    enabled: bool = Field(description="Disabled entries stay on old records but cannot be chosen.")
    is_default: bool = Field(description="Pre-selected in forms.")
    view_order: int = Field(description="Ascending display order.")
    version: int = Field(description="Increments on every change; the ETag is derived from it.")
    updated_at: Instant = Field(description="Last change.")


class ReferenceItemCreate(Input):
    """A new entry of a reference list."""

    code: str = Field(
        pattern=CODE_PATTERN,
        description="Lower-case ASCII code, unique in the list.",
        examples=["community_governance"],
    )
    label_zh: str = Field(
        min_length=1, max_length=100, description="Chinese label.", examples=["社区治理"]
    )
    label_en: str = Field(
        min_length=1,
        max_length=100,
        description="English label.",
        examples=["Community governance"],
    )
    description: str | None = Field(None, max_length=2000, description="Optional explanation.")
    enabled: bool = Field(True, description="Whether it can be chosen now.")
    is_default: bool = Field(False, description="Pre-selected in forms.")
    view_order: int = Field(0, ge=0, le=1_000_000, description="Ascending display order.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "code": "community_governance",
                    "label_zh": "社区治理",
                    "label_en": "Community governance",
                    "view_order": 160,
                }
            ]
        }
    }


class ReferenceItemUpdate(Input):
    """Changes to an entry; omitted fields stay as they are. The code never changes."""

    label_zh: str | None = Field(None, min_length=1, max_length=100, description="Chinese label.")
    label_en: str | None = Field(None, min_length=1, max_length=100, description="English label.")
    description: str | None = Field(None, max_length=2000, description="Explanation.")
    enabled: bool | None = Field(None, description="Disable to stop new use.")
    is_default: bool | None = Field(None, description="Pre-selected in forms.")
    view_order: int | None = Field(None, ge=0, le=1_000_000, description="Display order.")

    model_config = {"json_schema_extra": {"examples": [{"label_zh": "邻里纠纷", "enabled": True}]}}


class EnumValueOut(Contract):
    """One value of an enumeration used in the contract, with its Chinese label."""

    value: str = Field(description="The value as it appears in the API.")
    label_zh: str = Field(description="Chinese label.")
    label_en: str = Field(description="English label.")


class EnumOut(Contract):
    """An enumeration of the contract and the labels of its values."""

    name: str = Field(description="Schema name of the enumeration.")
    values: list[EnumValueOut] = Field(description="Its values in display order.")
