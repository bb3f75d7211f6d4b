"""Keyset pagination parameters and page building, shared by every list route.

A cursor is the last row's sort key, signed (HMAC-SHA256 with a key derived from
`MEDIATION_SECRET_KEY`) together with the list's path: a list accepts only the cursors it
issued, so an edited or hand-made cursor, or one of another list, is a 422 and never reaches a
query as values of the wrong kind. The request's key and path are set by the request
middleware (`cursor_scope`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.contracts.common import DEFAULT_LIMIT, MAX_LIMIT, Page
from mediation.errors import Unprocessable, rule_code

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (at most 200).")]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=500,
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        description="`next_cursor` of the previous page of the same list, unchanged.",
    ),
]
DEFAULT = DEFAULT_LIMIT
ORDER = "order"  # the key of a cursor naming its list's sort order
NOT_OURS = "The cursor is not one this list issued: pass `next_cursor` of its previous page."
CURSOR_INVALID = rule_code(
    "cursor-invalid",
    "The cursor is not one this list issued (another list, sort order or service): pass "
    "`next_cursor` of its previous page, or start again without one.",
)


@dataclass(frozen=True)
class CursorScope:
    key: bytes
    path: str


cursor_scope: ContextVar[CursorScope | None] = ContextVar("cursor_scope", default=None)


def cursor_key(secret: str) -> bytes:
    """The signing key of cursors, derived so that it signs nothing else."""
    return hmac.new(secret.encode(), b"mediation list cursor", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _scope() -> CursorScope:
    scope = cursor_scope.get()
    if scope is None:  # a list answered outside a request: a programming error
        raise RuntimeError("cursor_scope is set by RequestContextMiddleware")
    return scope


def _signature(scope: CursorScope, body: str) -> str:
    mac = hmac.new(scope.key, f"{scope.path}\n{body}".encode(), hashlib.sha256).digest()
    return _b64(mac[:16])


def encode_cursor(values: dict[str, Any]) -> str:
    body = _b64(json.dumps(values, separators=(",", ":"), default=str).encode())
    return f"{body}.{_signature(_scope(), body)}"


def decode_cursor(cursor: str) -> dict[str, Any]:
    body, _, signature = cursor.partition(".")
    if not hmac.compare_digest(signature.encode(), _signature(_scope(), body).encode()):
        raise Unprocessable(NOT_OURS, field="query.cursor", code=CURSOR_INVALID)
    value = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if not isinstance(value, dict):  # only a change of this code's cursors gets here
        raise Unprocessable(NOT_OURS, field="query.cursor", code=CURSOR_INVALID)
    return value


def cursor_values(cursor: str | None, *keys: str) -> dict[str, Any] | None:
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    if not all(k in values for k in keys):
        raise Unprocessable(NOT_OURS, field="query.cursor", code=CURSOR_INVALID)
    return values


def cursor_of_order(
    cursor: str | None, order_key: str, order: str | None, *keys: str
) -> dict[str, Any] | None:
    """`cursor_values` of a list with a choice of orders: the cursor names the order it was
    issued for under `order_key`, and one of another order is a 422."""
    after = cursor_values(cursor, *keys)
    if after and after.get(order_key) != order:
        raise Unprocessable(
            "The cursor belongs to another sort order.", field="query.cursor", code=CURSOR_INVALID
        )
    return after


def cursor_int(values: dict[str, Any] | None, key: str) -> int | None:
    """An integer position from a decoded cursor (a timeline entry's number)."""
    if values is None:
        return None
    value = values[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unprocessable(NOT_OURS, field="query.cursor", code=CURSOR_INVALID)
    return value


def build_page(
    rows: Sequence[T], limit: int, key: Callable[[T], dict[str, Any]]
) -> tuple[list[T], str | None]:
    """`rows` holds up to limit+1 records; the extra one only says a next page exists."""
    items = list(rows[:limit])
    next_cursor = encode_cursor(key(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor


def _cursor_value(column: Any, value: Any) -> Any:
    """A cursor's value read back as the column's type (a signed cursor holds what
    `encode_cursor` wrote: ids, dates and times as text)."""
    kind = column.type.python_type
    try:
        if kind is uuid.UUID:
            return uuid.UUID(value)
        if kind in (datetime, date):
            return kind.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise Unprocessable(NOT_OURS, field="query.cursor") from exc
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise Unprocessable(NOT_OURS, field="query.cursor")
    return value


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    columns: Sequence[Any],
    limit: int,
    cursor: str | None,
    *,
    newest: bool = False,
    order: str | None = None,
) -> tuple[list[Any], str | None]:
    """A page of `stmt` ordered by its sort key `columns` (ORM attributes, the last one unique;
    descending when `newest`): the rows after the cursor's key, at most `limit`, and the next
    page's cursor. The cursor names each column by its attribute; a list with a choice of
    orders names the one asked for (`order`), and a cursor of another order is a 422."""

    names = [c.key for c in columns]
    after = cursor_of_order(cursor, ORDER, order, *names)
    if after:
        values = [_cursor_value(c, after[n]) for c, n in zip(columns, names, strict=True)]
        key, bound = (
            (columns[0], values[0]) if len(columns) == 1 else (tuple_(*columns), tuple_(*values))
        )
        stmt = stmt.where(key < bound if newest else key > bound)
    stmt = stmt.order_by(*(c.desc() if newest else c for c in columns)).limit(limit + 1)
    rows = list((await session.scalars(stmt)).all())
    tag = {} if order is None else {ORDER: order}
    return build_page(rows, limit, lambda r: {**tag, **{n: getattr(r, n) for n in names}})


async def id_page(
    session: AsyncSession,
    stmt: Select[Any],
    column: Any,
    limit: int,
    cursor: str | None,
    *,
    newest: bool = False,
) -> tuple[list[Any], str | None]:
    """A page of `stmt` ordered by a UUIDv7 id `column` (creation order; newest first when
    asked)."""
    return await keyset_page(session, stmt, (column,), limit, cursor, newest=newest)


def memory_page(
    rows: Sequence[T], key: Callable[[T], str], limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """A page of a list held in memory (built-in and stored configuration merged), in the
    order of its unique text `key`."""
    after = cursor_values(cursor, "k")
    ordered = sorted(rows, key=key)
    if after:
        ordered = [r for r in ordered if key(r) > after["k"]]
    return build_page(ordered[: limit + 1], limit, lambda r: {"k": key(r)})


def page_of(out: type[M], page: tuple[Sequence[Any], str | None]) -> Page[M]:
    """The answer of a list: each row of a (rows, next cursor) page shown as `out`."""
    rows, next_cursor = page
    return Page[out](items=[out.model_validate(r) for r in rows], next_cursor=next_cursor)
