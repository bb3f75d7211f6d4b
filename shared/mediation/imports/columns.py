"""The columns of an import template: Chinese header (what the sheet shows), field name
(also accepted as a header), whether required, an example, and the allowed values where
there is a list (the template offers them as a drop-down)."""

from __future__ import annotations

from dataclasses import dataclass

from mediation.enums import LabelledEnum


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    required: bool
    example: str
    note: str = ""
    choices: tuple[str, ...] = ()  # Chinese labels offered in the drop-down


def labels(enum: type[LabelledEnum]) -> tuple[str, ...]:
    """The Chinese labels of an enumeration's members, in order: a column's `choices`."""
    return tuple(m.label_zh for m in enum)


def letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    s = ""
    index += 1
    while index:
        index, r = divmod(index - 1, 26)
        s = chr(65 + r) + s
    return s
