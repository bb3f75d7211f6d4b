"""Reference-data events: administrators see in their inbox that a shared list changed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.models import User
from mediation.clock import center_date
from mediation.notifications.models import Notification
from mediation.org.enums import Role
from mediation.org.models import RoleAssignment
from mediation.outbox.models import OutboxEvent
from mediation_worker.context import WorkerContext
from mediation_worker.outbox.dispatch import on

TITLES = {
    "reference.item_created": "参考数据新增：{label}",
    "reference.item_updated": "参考数据已修改：{label}",
}


@on("reference.")
async def notify_admins(session: AsyncSession, event: OutboxEvent, c: WorkerContext) -> None:
    today: date = center_date(c.clock.now())
    admins = (
        select(User.id)
        .join(RoleAssignment, RoleAssignment.person_id == User.person_id)
        .where(
            RoleAssignment.role == Role.system_admin,
            RoleAssignment.starts_on <= today,
            or_(RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= today),
            User.active.is_(True),
            and_(User.id != event.actor_id) if event.actor_id else True,
        )
        .distinct()
    )
    user_ids = list((await session.scalars(admins)).all())
    if not user_ids:
        return
    payload = event.payload
    title = TITLES.get(event.type, "参考数据变更").format(label=payload.get("label_zh", ""))
    body = f"列表 {payload.get('kind')} 的条目 {payload.get('code')} 已变更。"
    rows = [
        {
            "user_id": uid,
            "event_id": event.id,
            "type": event.type,
            "title": title,
            "body": body,
            "link": f"/api/v1/reference/{payload.get('kind')}/{payload.get('code')}",
        }
        for uid in user_ids
    ]
    await session.execute(insert(Notification).values(rows).on_conflict_do_nothing())
