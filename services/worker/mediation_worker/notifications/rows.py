"""Writing an event's inbox notifications and deliveries: one prepared single-row INSERT run
for every row in one round trip (asyncpg's executemany/fetchmany pipeline the binds), on the
event transaction's own asyncpg connection. Through the session the rows were walked and bound
by SQLAlchemy in Python first, more CPU than the statement; an INSERT from unnest(arrays) cost
more again in the driver's array encoding (docs/performance.md, "The worker's fan-out on the
driver")."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

# (column, its type); jsonb travels as its JSON text.
_Columns = Sequence[tuple[str, str]]

_DELIVERY: _Columns = (
    ("id", "uuid"),
    ("key", "varchar"),
    ("event_id", "uuid"),
    ("event_type", "varchar"),
    ("channel", "varchar"),
    ("recipient", "varchar"),
    ("status", "varchar"),
    ("attempts", "int"),
    ("next_attempt_at", "timestamptz"),
    ("delivered_at", "timestamptz"),
    ("last_error", "varchar"),
    ("rule_code", "varchar"),
    ("subscription_id", "uuid"),
    ("urgent", "bool"),
    ("message", "jsonb"),
    ("max_attempts", "int"),
    ("trace_context", "jsonb"),
)
_NOTIFICATION: _Columns = (
    ("id", "uuid"),
    ("user_id", "uuid"),
    ("event_id", "uuid"),
    ("type", "varchar"),
    ("title", "varchar"),
    ("body", "text"),
    ("link", "varchar"),
    ("urgent", "bool"),
)


def _insert(table: str, columns: _Columns, tail: str) -> str:
    names = ", ".join(c for c, _ in columns)
    values = ", ".join(f"${i}::{t}" for i, (_, t) in enumerate(columns, 1))
    return f"INSERT INTO {table} ({names}) VALUES ({values}) {tail}"


INSERT_DELIVERY = _insert(
    "deliveries", _DELIVERY, "ON CONFLICT (key) DO NOTHING RETURNING id, status"
)
INSERT_NOTIFICATION = _insert("notifications", _NOTIFICATION, "ON CONFLICT DO NOTHING")


def _args(columns: _Columns, rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """Each row's values in column order; a key a row lacks is NULL (party texts: no trace)."""
    names = [name for name, _ in columns]
    jsonb = [i for i, (_, kind) in enumerate(columns) if kind == "jsonb"]
    out = []
    for row in rows:
        values = [row.get(name) for name in names]
        for i in jsonb:
            if values[i] is not None:
                values[i] = json.dumps(values[i], ensure_ascii=False)
        out.append(values)
    return out


async def insert_deliveries(
    pg: asyncpg.Connection, rows: Sequence[dict[str, Any]]
) -> list[tuple[uuid.UUID, str]]:
    """The rows not already there (a second run of the event: none); (id, status) of each."""
    if not rows:
        return []
    written = await pg.fetchmany(INSERT_DELIVERY, _args(_DELIVERY, rows))
    return [(r[0], r[1]) for r in written]


async def insert_notifications(pg: asyncpg.Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await pg.executemany(INSERT_NOTIFICATION, _args(_NOTIFICATION, rows))
