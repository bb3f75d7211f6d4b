"""Reading the effective rules and templates: stored rows over the built-in defaults. Shared by
the API (what administrators see) and the worker (what it applies), so both agree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.notifications.defaults import BUILTIN_RULES
from mediation.notifications.enums import Channel
from mediation.notifications.models import NotificationRule, NotificationTemplate
from mediation.notifications.rules import RuleSpec
from mediation.notifications.templates import TemplateText

BUILTIN_CODES = {r.code for r in BUILTIN_RULES}


def from_row(row: NotificationRule) -> RuleSpec:
    # The row's columns are the spec's fields (validated as the constructor would); whether
    # the rule is built in is not stored.
    spec = RuleSpec.model_validate(row)
    spec.builtin = row.code in BUILTIN_CODES
    return spec


def merge(stored: list[NotificationRule], builtins: list[RuleSpec]) -> list[RuleSpec]:
    """Built-in rules in their order (a stored copy with the same code replaces one), then
    administrators' own rules in creation order."""
    by_code = {r.code: r for r in stored}
    out = [from_row(by_code[b.code]) if b.code in by_code else b for b in builtins]
    out += [from_row(r) for r in stored if r.code not in BUILTIN_CODES]
    return out


async def rules_for(session: AsyncSession, event_type: str) -> list[RuleSpec]:
    """The effective, enabled rules of one event type."""
    stored = list(
        (
            await session.scalars(
                select(NotificationRule)
                .where(NotificationRule.event_type == event_type)
                .order_by(NotificationRule.id)
            )
        ).all()
    )
    builtins = [r for r in BUILTIN_RULES if r.event_type == event_type]
    return [r for r in merge(stored, builtins) if r.enabled]


async def stored_templates(session: AsyncSession, event_type: str) -> dict[Channel, TemplateText]:
    rows = (
        await session.scalars(
            select(NotificationTemplate).where(NotificationTemplate.event_type == event_type)
        )
    ).all()
    return {Channel(r.channel): TemplateText(r.subject, r.body) for r in rows}
