"""Every query of the notification domain: the caller's inbox, webhook subscriptions (scoped to
the caller's jurisdiction) and their deliveries, stored rules and templates."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope
from mediation.notifications.enums import Channel, DeliveryStatus
from mediation.notifications.models import (
    DeliveryAttempt,
    Notification,
    NotificationRule,
    NotificationTemplate,
    WebhookSubscription,
)
from mediation.org.models import Unit
from mediation.outbox.models import Delivery
from mediation_api.pagination import id_page
from mediation_api.queries import one_or_none


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unread_counts(self, user_id: uuid.UUID) -> tuple[int, int]:
        row = (
            await self.session.execute(
                select(func.count(), func.count().filter(Notification.urgent.is_(True))).where(
                    Notification.user_id == user_id, Notification.read_at.is_(None)
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def get(self, user_id: uuid.UUID, ident: uuid.UUID) -> Notification | None:
        return (
            await self.session.scalars(
                select(Notification).where(
                    Notification.id == ident, Notification.user_id == user_id
                )
            )
        ).one_or_none()

    async def mark_all(self, user_id: uuid.UUID, up_to: uuid.UUID | None, now: datetime) -> int:
        stmt = (
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=now)
        )
        if up_to is not None:
            stmt = stmt.where(Notification.id <= up_to)
        result = await self.session.execute(stmt)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _readable(self, principal: Principal) -> Select[tuple[WebhookSubscription]]:
        return select(WebhookSubscription).where(in_scope(WebhookSubscription.unit_path, principal))

    async def page(
        self, principal: Principal, *, enabled: bool | None, limit: int, cursor: str | None
    ) -> tuple[list[WebhookSubscription], str | None]:
        """Oldest first."""
        stmt = self._readable(principal)
        if enabled is not None:
            stmt = stmt.where(WebhookSubscription.enabled.is_(enabled))
        return await id_page(self.session, stmt, WebhookSubscription.id, limit, cursor)

    async def get(
        self, principal: Principal, ident: uuid.UUID, *, for_update: bool = False
    ) -> WebhookSubscription | None:
        stmt = self._readable(principal).where(WebhookSubscription.id == ident)
        return await one_or_none(self.session, stmt, for_update=for_update)

    async def unit(self, ident: uuid.UUID) -> Unit | None:
        return await self.session.get(Unit, ident)

    async def unit_by_path(self, path: str) -> Unit | None:
        return (await self.session.scalars(select(Unit).where(Unit.path == path))).one_or_none()

    def add(self, sub: WebhookSubscription) -> None:
        self.session.add(sub)

    async def delete(self, sub: WebhookSubscription) -> None:
        await self.session.delete(sub)

    async def deliveries(
        self,
        sub_id: uuid.UUID,
        *,
        status: DeliveryStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Delivery], str | None]:
        """Newest first."""
        stmt = select(Delivery).where(Delivery.subscription_id == sub_id)
        if status is not None:
            stmt = stmt.where(Delivery.status == status.value)
        return await id_page(self.session, stmt, Delivery.id, limit, cursor, newest=True)

    async def delivery(
        self, sub_id: uuid.UUID, ident: uuid.UUID, *, for_update: bool = False
    ) -> Delivery | None:
        stmt = select(Delivery).where(Delivery.id == ident, Delivery.subscription_id == sub_id)
        return await one_or_none(self.session, stmt, for_update=for_update)

    async def attempts(self, delivery_id: uuid.UUID) -> list[DeliveryAttempt]:
        return list(
            (
                await self.session.scalars(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.delivery_id == delivery_id)
                    .order_by(DeliveryAttempt.attempt)
                )
            ).all()
        )


class ConfigRepository:
    """Stored rules and templates (the built-in ones live in code)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rules(self, event_type: str | None = None) -> list[NotificationRule]:
        stmt = select(NotificationRule).order_by(NotificationRule.id)
        if event_type is not None:
            stmt = stmt.where(NotificationRule.event_type == event_type)
        return list((await self.session.scalars(stmt)).all())

    async def rule(self, code: str, *, for_update: bool = False) -> NotificationRule | None:
        stmt = select(NotificationRule).where(NotificationRule.code == code)
        return await one_or_none(self.session, stmt, for_update=for_update)

    async def templates(self) -> list[NotificationTemplate]:
        return list((await self.session.scalars(select(NotificationTemplate))).all())

    async def template(
        self, event_type: str, channel: Channel, *, for_update: bool = False
    ) -> NotificationTemplate | None:
        stmt = select(NotificationTemplate).where(
            NotificationTemplate.event_type == event_type, NotificationTemplate.channel == channel
        )
        return await one_or_none(self.session, stmt, for_update=for_update)

    def add(self, row: NotificationRule | NotificationTemplate) -> None:
        self.session.add(row)

    async def delete(self, row: NotificationRule | NotificationTemplate) -> None:
        await self.session.delete(row)
