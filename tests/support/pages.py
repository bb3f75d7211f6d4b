"""Walking a list page by page, as a client does: every item, in the order the pages give."""

from __future__ import annotations

from typing import Any

import httpx


async def walk(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], limit: int, **params: Any
) -> list[Any]:
    """Every item of the list at `url`, `limit` a page, following `next_cursor` to the end."""
    items: list[Any] = []
    cursor = None
    while True:
        query: dict[str, Any] = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = await client.get(url, headers=headers, params=query)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items
