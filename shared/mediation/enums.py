"""Enumerations carry their Chinese and English labels, so the contract documents every value
and clients get the labels from `/reference/enums` instead of hard-coding them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

E = TypeVar("E", bound="LabelledEnum")

REGISTRY: dict[str, type[LabelledEnum]] = {}


class LabelledEnum(StrEnum):
    """Declare members as `value = "value", "中文", "English"`."""

    label_zh: str
    label_en: str

    def __new__(cls, value: str, label_zh: str = "", label_en: str = "") -> Any:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label_zh = label_zh or value
        obj.label_en = label_en or value
        return obj


def value_table(cls: type[LabelledEnum]) -> str:
    """One line per value: `- `value`: 中文 (English)`."""
    return "\n".join(f"- `{m.value}`: {m.label_zh} ({m.label_en})" for m in cls)


def labelled(cls: type[E]) -> type[E]:
    """Register the enum and write its value table into the docstring (the schema description)."""
    cls.__doc__ = f"{(cls.__doc__ or cls.__name__).strip()}\n\n{value_table(cls)}"
    REGISTRY[cls.__name__] = cls
    return cls
