"""The inbox list as one statement on asyncpg (the read pool or a replica), written to JSON
with orjson: the ORM's unit of work and a model per message cost more than the query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from mediation_api.cases.reads import _Where, columns_page_json


def inbox_query(
    user_id: uuid.UUID,
    *,
    unread: bool | None,
    urgent: bool | None,
    type_: str | None,
    before: uuid.UUID | None,
    limit: int,
) -> tuple[str, list[object]]:
    """The statement of a page of the user's inbox and its arguments."""
    w = _Where()
    w.add(f"user_id = {w.arg(user_id)}")
    if unread is not None:
        w.add("read_at IS NULL" if unread else "read_at IS NOT NULL")
    w.compare("urgent", "=", urgent)
    w.compare("type", "=", type_)
    w.compare("id", "<", before)
    # The page's ids first (an index-only scan of (user_id, id), or of the unread partial
    # index), then its rows. Asked for whole rows at once, the planner walked the primary key
    # newest first and filtered by user whenever the user holds many messages, assuming them
    # spread evenly over it; they are not (a dispatcher's 51st unread message lay 21,000 rows
    # back: 7.7 ms and 19,365 buffers for a page of 50, against 0.1 ms by the index).
    ids = (
        f"SELECT id FROM notifications WHERE {' AND '.join(w.terms)} "
        f"ORDER BY id DESC LIMIT {w.arg(limit + 1)}"
    )
    sql = (
        "SELECT id, type, title, body, link, urgent, created_at, read_at FROM notifications "
        f"WHERE id IN ({ids}) ORDER BY id DESC"
    )
    return sql, w.args


def inbox_page_json(rows: Sequence[asyncpg.Record], next_cursor: str | None) -> bytes:
    """A page of NotificationOut as JSON: the statement selects the model's fields in its
    order (times in +08:00 like `Instant`)."""
    return columns_page_json(rows, next_cursor, ("created_at", "read_at"))
