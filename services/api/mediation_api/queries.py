"""Query pieces every repository uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession


async def one_or_none(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    for_update: bool = False,
    of: Any = None,
    key_share: bool = False,
) -> Any:
    """The one record `stmt` selects (in the caller's scope: the statement says so), or None;
    locked FOR UPDATE (only the rows of `of`, when it joins others) for a change, or FOR NO
    KEY UPDATE with `key_share` (a change that keeps the key: rows referencing it still go in)."""
    if for_update:
        stmt = stmt.with_for_update(of=of, key_share=key_share)
    return (await session.scalars(stmt)).one_or_none()
