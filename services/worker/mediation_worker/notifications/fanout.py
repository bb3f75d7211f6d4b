"""From one event to its deliveries, in the event's processing transaction: the effective rules
pick recipients and channels, templates render the texts, webhook subscriptions that want the
type get the Standard Webhooks body. In-app notifications are written here (that write is the
delivery); the others become pending rows with a unique key, sent right after the commit."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.contracts.common import center_time
from mediation.db import driver_connection
from mediation.ids import uuid7
from mediation.notifications import catalog, defaults
from mediation.notifications.enums import Channel, DeliveryStatus
from mediation.notifications.rules import RuleSpec
from mediation.notifications.templates import context_for, render
from mediation.notifications.webhooks import max_attempts
from mediation.outbox.models import OutboxEvent
from mediation.settings import Settings
from mediation.tracing import current_context
from mediation_worker.notifications.cache import ConfigCache, Subscription, uncached
from mediation_worker.notifications.recipients import Recipient, Resolver
from mediation_worker.notifications.rows import insert_deliveries, insert_notifications

log = logging.getLogger("mediation.worker.notifications")

NO_ACCOUNT = "The person has no active account."
_RECIPIENT = object()  # where each recipient's name goes in the event's variables


def webhook_body(event: OutboxEvent) -> str:
    """Standard Webhooks body `{type, timestamp, data}`; data is the payload plus the event's
    own identifiers (never overriding a payload field). Serialised once, so every retry sends
    the same bytes."""
    data: dict[str, Any] = dict(event.payload)
    data.setdefault("event_id", str(event.id))
    data.setdefault("aggregate_type", event.aggregate_type)
    if event.aggregate_id is not None:
        data.setdefault("aggregate_id", str(event.aggregate_id))
    body = {"type": event.type, "timestamp": center_time(event.occurred_at), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)


def _link(spec: catalog.EventSpec | None, payload: dict[str, Any]) -> str | None:
    if spec is None or spec.link is None:
        return None
    try:
        return "/api/v1" + spec.link.format(**payload)
    except (KeyError, IndexError, ValueError):
        return None


def _urgent(rule: RuleSpec, payload: dict[str, Any]) -> bool:
    return rule.urgent or payload.get("urgent") is True or payload.get("risk_colour") == "red"


# What an outbound channel needs from settings: (setting, its variable, the channel's name).
_SETTING = {
    Channel.email: ("smtp_host", "MEDIATION_SMTP_HOST", "Email"),
    Channel.sms: ("sms_gateway_url", "MEDIATION_SMS_GATEWAY_URL", "SMS"),
    Channel.wecom: ("wecom_webhook_url", "MEDIATION_WECOM_WEBHOOK_URL", "WeCom"),
}
_ADDRESS = {Channel.email: "email", Channel.sms: "phone"}


def _unconfigured(settings: Settings, channel: Channel) -> str | None:
    attribute, variable, name = _SETTING[channel]
    return None if getattr(settings, attribute) else f"{name} is not configured ({variable})"


def _subscription_wants(
    sub: Subscription, event: OutboxEvent, spec: catalog.EventSpec | None
) -> bool:
    if event.type == "webhook.ping":
        return str(sub.id) == str(event.payload.get("subscription_id"))
    if spec is not None and spec.internal:
        return False
    if event.unit_path is not None and not event.unit_path.startswith(sub.unit_path):
        return False
    return any(catalog.pattern_matches(p, event.type) for p in sub.event_types)


class FanOut:
    def __init__(
        self,
        session: AsyncSession,
        pg: asyncpg.Connection,
        event: OutboxEvent,
        settings: Settings,
        now: datetime,
        cache: ConfigCache | None = None,
    ) -> None:
        self.session = session  # the stored configuration is read through it (cached)
        self.pg = pg  # the same transaction's driver connection: recipients, the rows
        self.event = event
        self.settings = settings
        self.now = now
        self.cache = cache or uncached()
        self.spec = catalog.EVENTS.get(event.type)
        self.resolver = Resolver(pg, event, now.astimezone(ZoneInfo(settings.timezone)).date())
        self.deliveries: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self._keys: set[str] = set()
        self._contexts: dict[bool, dict[str, Any]] = {}  # the event's variables, by urgency

    def _delivery(
        self,
        key: str,
        channel: Channel,
        recipient: str,
        *,
        rule: str | None,
        urgent: bool,
        message: dict[str, Any],
        status: DeliveryStatus = DeliveryStatus.pending,
        error: str | None = None,
        subscription_id: uuid.UUID | None = None,
    ) -> None:
        if key in self._keys:  # a second rule naming the same person and channel: once
            return
        self._keys.add(key)
        final = status is not DeliveryStatus.pending
        self.deliveries.append(
            {
                "id": uuid7(),
                "key": key,
                "event_id": self.event.id,
                "event_type": self.event.type,
                "channel": channel.value,
                "recipient": recipient,
                "status": status.value,
                "attempts": 0,
                "next_attempt_at": None if final else self.now,
                "delivered_at": self.now if status is DeliveryStatus.delivered else None,
                "last_error": error,
                "rule_code": rule,
                "subscription_id": subscription_id,
                "urgent": urgent,
                "message": message,
                "max_attempts": max_attempts(channel),
            }
        )

    def _skipped(
        self, key: str, channel: Channel, who: str, rule: RuleSpec, urgent: bool, why: str
    ) -> None:
        """A person the rule chose who is not sent this: a final state saying why."""
        self._send_or_skip(key, channel, who, rule, urgent, {}, why)

    def _send_or_skip(
        self,
        key: str,
        channel: Channel,
        who: str,
        rule: RuleSpec,
        urgent: bool,
        message: dict[str, Any],
        problem: str | None,
        *,
        delivered: bool = False,
    ) -> None:
        """Pending, to be sent after the commit (or `delivered` already); skipped (final) when
        `problem` says why not."""
        status = DeliveryStatus.delivered if delivered else DeliveryStatus.pending
        self._delivery(
            key,
            channel,
            who,
            rule=rule.code,
            urgent=urgent,
            message=message,
            status=DeliveryStatus.skipped if problem else status,
            error=problem,
        )

    async def _context(self, recipient_name: str, urgent: bool) -> dict[str, Any]:
        """The texts' variables for one recipient. The event's are worked out once per urgency
        and the name put in, unless the payload names a `recipient_name` of its own, which
        wins (as any payload variable wins in `context_for`)."""
        base = self._contexts.get(urgent)
        if base is None:
            base = self._contexts[urgent] = await self._event_context(urgent)
        ctx = dict(base)
        if ctx["recipient_name"] is _RECIPIENT:
            ctx["recipient_name"] = recipient_name
        return ctx

    async def _event_context(self, urgent: bool) -> dict[str, Any]:
        event = self.event
        common = {
            "event_type": event.type,
            "event_label": self.spec.label_zh if self.spec else event.type,
            "occurred_at": center_time(event.occurred_at),
            "recipient_name": _RECIPIENT,
            "unit_name": await self.resolver.unit_name(),
            "link": _link(self.spec, event.payload) or "",
            "urgent": urgent,
        }
        if self.spec is None:
            return common
        return context_for(event.type, event.payload, common)

    def _render(
        self, rule: RuleSpec, channel: Channel, ctx: dict[str, Any], stored: dict[Channel, Any]
    ) -> tuple[str, str]:
        text = defaults.resolve(self.event.type, channel, stored)
        try:
            return render(text, ctx)
        except Exception:  # validated at configuration; a failure here must not lose the send
            log.exception(
                "template of %s/%s failed; using the generic text", self.event.type, channel.value
            )
            return render(defaults.GENERIC, ctx)

    async def _apply_rule(
        self,
        rule: RuleSpec,
        stored: dict[Channel, Any],
        people: dict[uuid.UUID, Recipient],
        actor: uuid.UUID | None,
    ) -> None:
        event = self.event
        urgent = _urgent(rule, event.payload)
        ids = await self.resolver.person_ids(rule)
        if rule.exclude_actor and actor is not None:
            ids.discard(actor)
        missing = ids - people.keys()
        if missing:
            people.update(await self.resolver.details(missing))
        barred = await self.resolver.barred(ids, self.spec.read_permission if self.spec else None)
        link = _link(self.spec, event.payload)
        for channel in rule.channels:
            if channel is Channel.wecom:
                ctx = await self._context("", urgent)
                _, body = self._render(rule, channel, ctx, stored)
                key = f"{event.id}:wecom:{rule.code}"
                problem = _unconfigured(self.settings, channel)
                self._send_or_skip(key, channel, "wecom", rule, urgent, {"markdown": body}, problem)
                continue
            for pid in sorted(ids, key=str):
                person = people.get(pid)
                if person is None:
                    continue  # an id that names nobody: nothing to send
                key = f"{event.id}:{channel.value}:{pid}"
                who = f"person:{pid}"
                if pid in barred:
                    self._skipped(key, channel, who, rule, urgent, barred[pid])
                    continue
                ctx = await self._context(person.name, urgent)
                subject, body = self._render(rule, channel, ctx, stored)
                if channel is Channel.inbox:
                    if person.user_id is None:
                        self._skipped(key, channel, who, rule, urgent, NO_ACCOUNT)
                        continue
                    self.notifications.append(
                        {
                            "id": uuid7(),
                            "user_id": person.user_id,
                            "event_id": event.id,
                            "type": event.type,
                            "title": subject[:200] or body[:200],
                            "body": body,
                            "link": link,
                            "urgent": urgent,
                        }
                    )
                    # Written above: the inbox row is the delivery.
                    message = {"title": subject, "user_id": str(person.user_id)}
                    self._send_or_skip(
                        key, channel, who, rule, urgent, message, None, delivered=True
                    )
                elif channel in _ADDRESS:
                    to = person.email if channel is Channel.email else person.phone
                    problem = _unconfigured(self.settings, channel) or (
                        None if to else f"The person has no {_ADDRESS[channel]}."
                    )
                    message = (
                        {"to": to, "subject": subject, "body": body}
                        if channel is Channel.email
                        else {"to": to, "body": body}  # a text message has no subject
                    )
                    self._send_or_skip(key, channel, who, rule, urgent, message, problem)

    async def _webhooks(self) -> None:
        event = self.event
        subs = await self.cache.subscriptions(self.session)
        wanted = [s for s in subs if _subscription_wants(s, event, self.spec)]
        if not wanted:
            return
        body = webhook_body(event)
        for sub in wanted:
            delivery_key = f"{event.id}:webhook:{sub.id}"
            msg_id = "msg_" + uuid.uuid5(uuid.NAMESPACE_URL, delivery_key).hex
            self._delivery(
                delivery_key,
                Channel.webhook,
                f"subscription:{sub.id}",
                rule=None,
                urgent=bool(event.payload.get("urgent")),
                message={"webhook_id": msg_id, "body": body},
                subscription_id=sub.id,
            )

    async def run(self) -> list[uuid.UUID]:
        """Writes the rows; returns the ids of the deliveries to send now."""
        if self.spec is not None:
            rules = [
                r
                for r in await self.cache.rules(self.session, self.event.type)
                if r.matches(self.event.payload)
            ]
            if rules:
                stored = await self.cache.templates(self.session, self.event.type)
                actor = await self.resolver.actor_person()
                people: dict[uuid.UUID, Recipient] = {}
                for rule in rules:
                    await self._apply_rule(rule, stored, people, actor)
        await self._webhooks()
        await insert_notifications(self.pg, self.notifications)
        if not self.deliveries:
            return []
        trace_context = current_context()
        if trace_context:  # each send continues the fan-out's trace (retries too)
            for row in self.deliveries:
                row["trace_context"] = trace_context
        rows = await insert_deliveries(self.pg, self.deliveries)
        return [i for i, status in rows if status == DeliveryStatus.pending.value]


async def fan_out(
    session: AsyncSession,
    event: OutboxEvent,
    settings: Settings,
    now: datetime,
    cache: ConfigCache | None = None,
) -> list[uuid.UUID]:
    pg = await driver_connection(session)
    return await FanOut(session, pg, event, settings, now, cache).run()
