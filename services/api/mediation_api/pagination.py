"""Keyset pagination parameters and page building, shared by every list route."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query

from mediation.contracts.common import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from mediation.errors import Unprocessable

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (at most 200).")]
Cursor = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page.")
]
DEFAULT = DEFAULT_LIMIT


def cursor_values(cursor: str | None, *keys: str) -> dict[str, Any] | None:
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    if not all(k in values for k in keys):
        raise Unprocessable("The cursor does not belong to this list.", field="query.cursor")
    return values


def cursor_int(values: dict[str, Any] | None, key: str) -> int | None:
    """An integer position from a decoded cursor (a timeline entry's number)."""
    if values is None:
        return None
    value = values[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unprocessable("The cursor is not one this service issued.", field="query.cursor")
    return value


def build_page(
    rows: Sequence[T], limit: int, key: Callable[[T], dict[str, Any]]
) -> tuple[list[T], str | None]:
    """`rows` holds up to limit+1 records; the extra one only says a next page exists."""
    items = list(rows[:limit])
    next_cursor = encode_cursor(key(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor
