"""What the fan-out reads on every event and changes rarely: the stored rules and templates of
an event type and the enabled webhook subscriptions. Kept per worker process for a couple of
seconds, so a busy worker does not query them for each event; a change made through the API
applies within that time (a subscription disabled meanwhile is re-checked at send time)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.notifications import store
from mediation.notifications.enums import Channel
from mediation.notifications.models import WebhookSubscription
from mediation.notifications.rules import RuleSpec
from mediation.notifications.templates import TemplateText

TTL = 2.0
T = TypeVar("T")


class Subscription(NamedTuple):
    id: uuid.UUID
    unit_path: str
    event_types: list[str]


@dataclass
class ConfigCache:
    ttl: float = TTL
    _rules: dict[str, tuple[float, list[RuleSpec]]] = field(default_factory=dict)
    _templates: dict[str, tuple[float, dict[Channel, TemplateText]]] = field(default_factory=dict)
    _subs: tuple[float, list[Subscription]] | None = None

    def _fresh(self, entry: tuple[float, Any] | None) -> bool:
        return entry is not None and entry[0] > time.monotonic()

    async def _of_type(
        self,
        table: dict[str, tuple[float, T]],
        event_type: str,
        load: Callable[[], Awaitable[T]],
    ) -> T:
        """An event type's entry of `table`, loaded again once stale."""
        hit = table.get(event_type)
        if hit is None or not self._fresh(hit):
            hit = (time.monotonic() + self.ttl, await load())
            table[event_type] = hit
        return hit[1]

    async def rules(self, session: AsyncSession, event_type: str) -> list[RuleSpec]:
        return await self._of_type(
            self._rules, event_type, lambda: store.rules_for(session, event_type)
        )

    async def templates(
        self, session: AsyncSession, event_type: str
    ) -> dict[Channel, TemplateText]:
        return await self._of_type(
            self._templates, event_type, lambda: store.stored_templates(session, event_type)
        )

    async def subscriptions(self, session: AsyncSession) -> list[Subscription]:
        if not self._fresh(self._subs):
            rows = (
                await session.execute(
                    select(
                        WebhookSubscription.id,
                        WebhookSubscription.unit_path,
                        WebhookSubscription.event_types,
                    ).where(WebhookSubscription.enabled.is_(True))
                )
            ).all()
            self._subs = (time.monotonic() + self.ttl, [Subscription(*r) for r in rows])
        assert self._subs is not None
        return self._subs[1]


def uncached() -> ConfigCache:
    return ConfigCache(ttl=0.0)
