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
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import JSONB

from mediation.notifications.models import Notification
from mediation.outbox.models import Delivery

# The columns the fan-out fills, in its rows' keys; the rest take their defaults. Parameter
# types come from the target columns; a JSONB column's value travels as its JSON text.
_DELIVERY = (
    "id",
    "key",
    "event_id",
    "event_type",
    "channel",
    "recipient",
    "status",
    "attempts",
    "next_attempt_at",
    "delivered_at",
    "last_error",
    "rule_code",
    "subscription_id",
    "urgent",
    "message",
    "max_attempts",
    "trace_context",
)
_NOTIFICATION = ("id", "user_id", "event_id", "type", "title", "body", "link", "urgent")


def _insert(table: Table, columns: Sequence[str], tail: str) -> str:
    values = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({values}) {tail}"


def _jsonb(table: Table, columns: Sequence[str]) -> list[int]:
    return [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSONB)]


_DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]
_NOTIFICATIONS: Table = Notification.__table__  # type: ignore[assignment]
INSERT_DELIVERY = _insert(
    _DELIVERIES, _DELIVERY, "ON CONFLICT (key) DO NOTHING RETURNING id, status"
)
INSERT_NOTIFICATION = _insert(_NOTIFICATIONS, _NOTIFICATION, "ON CONFLICT DO NOTHING")
_DELIVERY_JSONB = _jsonb(_DELIVERIES, _DELIVERY)
_NOTIFICATION_JSONB = _jsonb(_NOTIFICATIONS, _NOTIFICATION)


def _args(
    columns: Sequence[str], jsonb: list[int], rows: Sequence[dict[str, Any]]
) -> list[list[Any]]:
    """Each row's values in column order; a key a row lacks is NULL (party texts: no trace)."""
    out = []
    for row in rows:
        values = [row.get(name) for name in columns]
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
    written = await pg.fetchmany(INSERT_DELIVERY, _args(_DELIVERY, _DELIVERY_JSONB, rows))
    return [(r[0], r[1]) for r in written]


async def insert_notifications(pg: asyncpg.Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await pg.executemany(INSERT_NOTIFICATION, _args(_NOTIFICATION, _NOTIFICATION_JSONB, rows))
