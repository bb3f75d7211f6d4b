"""Orchestrating notification requests: the inbox, webhook subscriptions (URL and event types
checked when they are saved), redelivery, rules and templates (checked against the event
catalogue and rendered against sample payloads when they are saved). Never commits."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.cases.problems import UNIT_NOT_IN_JURISDICTION
from mediation.clock import Clock
from mediation.contracts.changes import comparable, next_version
from mediation.contracts.common import center_time
from mediation.contracts.etag import check_if_match
from mediation.errors import VALIDATION, Conflict, Forbidden, NotFound, Unprocessable
from mediation.notifications import catalog, defaults, problems, store, templates, webhooks
from mediation.notifications.enums import Channel, DeliveryStatus, DisabledReason
from mediation.notifications.events import WebhookPing
from mediation.notifications.models import (
    Notification,
    NotificationRule,
    NotificationTemplate,
    WebhookSubscription,
)
from mediation.notifications.rules import RuleSpec, validate_rule
from mediation.outbox.events import emit
from mediation.outbox.models import Delivery
from mediation.settings import Settings
from mediation_api.notifications.contracts import (
    DeliveryAttemptOut,
    DeliveryDetail,
    DeliveryOut,
    RuleCreate,
    RuleOut,
    RuleUpdate,
    TemplateOut,
    TemplatePut,
    WebhookCreate,
    WebhookUpdate,
)
from mediation_api.notifications.repository import (
    ConfigRepository,
    InboxRepository,
    WebhookRepository,
)
from mediation_api.request_service import for_change
from mediation_api.shown import shown

D = TypeVar("D", bound=DeliveryOut)
DELIVERIES_CHANNEL = "deliveries"  # LISTENed to by the workers' delivery loops


def require_person(principal: Principal) -> uuid.UUID:
    if principal.kind != "user":
        raise Forbidden("Only people have an inbox; systems receive webhooks.")
    return principal.id


class InboxService:
    def __init__(self, session: AsyncSession, clock: Clock, principal: Principal) -> None:
        self.repo = InboxRepository(session)
        self.clock = clock
        self.user_id = require_person(principal)

    async def mark_read(self, ident: uuid.UUID) -> Notification:
        item = await self.repo.get(self.user_id, ident)
        if item is None:
            raise NotFound("No such message in your inbox.")
        if item.read_at is None:
            item.read_at = self.clock.now()
        return item


# --------------------------------------------------------------------------- webhooks


def delivery_as(model: type[D], d: Delivery, **given: Any) -> D:
    """A delivery as `model` shows it (`DeliveryOut`, or `DeliveryDetail` with what it adds)."""
    return shown(
        model, d, webhook_id=d.message.get("webhook_id"), status=DeliveryStatus(d.status), **given
    )


def delivery_out(d: Delivery) -> DeliveryOut:
    return delivery_as(DeliveryOut, d)


class WebhookService:
    def __init__(
        self, session: AsyncSession, clock: Clock, settings: Settings, principal: Principal
    ) -> None:
        self.session = session
        self.repo = WebhookRepository(session)
        self.clock = clock
        self.settings = settings
        self.principal = principal

    async def _check_url(self, url: str) -> str:
        allow = self.settings.webhook_allow_loopback
        webhooks.check_url(url, allow_loopback=allow)  # scheme, host, literal addresses
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:  # a name that resolves to a metadata address is refused too
            addresses = await asyncio.wait_for(asyncio.to_thread(webhooks.resolve, host, port), 3)
        except TimeoutError:
            addresses = []
        return webhooks.check_url(url, allow_loopback=allow, addresses=addresses)

    @staticmethod
    def _check_types(types: list[str]) -> list[str]:
        for i, pattern in enumerate(types):
            catalog.require_pattern(pattern, f"body.event_types.{i}")
        return sorted(set(types), key=types.index)

    async def _unit(self, unit_id: uuid.UUID | None) -> tuple[uuid.UUID, str]:
        if unit_id is None:
            top = min(self.principal.scope_paths, key=len, default=None)
            unit = await self.repo.unit_by_path(top) if top else None
            if unit is None:
                raise Unprocessable(
                    "You have no jurisdiction to subscribe to; name a unit.",
                    field="body.unit_id",
                    code=problems.SUBSCRIPTION_UNIT_REQUIRED,
                )
            return unit.id, unit.path
        unit = await self.repo.unit(unit_id)
        if unit is None or not self.principal.in_scope(unit.path):
            raise Unprocessable(
                "No such unit in your jurisdiction.",
                field="body.unit_id",
                code=UNIT_NOT_IN_JURISDICTION,
            )
        return unit.id, unit.path

    async def get(self, ident: uuid.UUID, *, for_update: bool = False) -> WebhookSubscription:
        sub = await self.repo.get(self.principal, ident, for_update=for_update)
        if sub is None:
            raise NotFound("No such webhook subscription.")
        return sub

    async def create(self, body: WebhookCreate) -> WebhookSubscription:
        url = await self._check_url(body.url)
        types = self._check_types(body.event_types)
        unit_id, unit_path = await self._unit(body.unit_id)
        sub = WebhookSubscription(
            name=body.name,
            description=body.description,
            url=url,
            secret=webhooks.new_secret(),
            event_types=types,
            unit_id=unit_id,
            unit_path=unit_path,
            owner_id=self.principal.id if self.principal.kind == "user" else None,
        )
        self.repo.add(sub)
        await self.session.flush()
        await self.session.refresh(sub)
        return sub

    async def update(
        self, ident: uuid.UUID, body: WebhookUpdate, if_match: str | None
    ) -> WebhookSubscription:
        sub = await for_change(self.get, ident, if_match)
        changes = body.model_dump(exclude_unset=True)
        for name in ("name", "url", "event_types", "enabled"):
            if name in changes and changes[name] is None:
                raise Unprocessable(
                    f"`{name}` cannot be null.", field=f"body.{name}", code=VALIDATION
                )
        if "url" in changes:
            sub.url = await self._check_url(changes["url"])
        if "event_types" in changes:
            types = self._check_types(changes["event_types"])
            if set(types) != set(sub.event_types):  # the same patterns in another order: as is
                sub.event_types = types
        if changes.get("unit_id") is not None:
            sub.unit_id, sub.unit_path = await self._unit(changes["unit_id"])
        for name in ("name", "description"):
            if name in changes:
                setattr(sub, name, changes[name])
        if "enabled" in changes and changes["enabled"] != sub.enabled:
            sub.enabled = changes["enabled"]
            if sub.enabled:  # resumed: forget why it stopped
                sub.disabled_at = sub.disabled_reason = None
                sub.consecutive_failures = 0
            else:
                sub.disabled_at = self.clock.now()
                sub.disabled_reason = DisabledReason.manual
        if not next_version(sub):  # every value as it was: nothing changes
            return sub
        await self.session.flush()
        await self.session.refresh(sub)
        return sub

    async def rotate(
        self, ident: uuid.UUID, if_match: str | None, overlap_hours: int | None = None
    ) -> WebhookSubscription:
        """A new secret; the one it replaces keeps signing for `overlap_hours` (the setting
        when None) so receivers can switch without losing deliveries. Only one old secret is
        kept: a second rotation inside the window drops the oldest."""
        sub = await for_change(self.get, ident, if_match)
        hours = (
            self.settings.webhook_secret_overlap_hours if overlap_hours is None else overlap_hours
        )
        if hours > 0:
            sub.previous_secret = sub.secret
            sub.previous_secret_expires_at = self.clock.now() + timedelta(hours=hours)
        else:
            sub.previous_secret = sub.previous_secret_expires_at = None
        sub.secret = webhooks.new_secret()
        sub.version += 1
        await self.session.flush()
        await self.session.refresh(sub)
        return sub

    async def delete(self, ident: uuid.UUID, if_match: str | None) -> None:
        sub = await for_change(self.get, ident, if_match)
        await self.repo.delete(sub)

    async def detail(self, sub_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryDetail:
        await self.get(sub_id)
        d = await self.repo.delivery(sub_id, delivery_id)
        if d is None:
            raise NotFound("No such delivery of this subscription.")
        attempts = await self.repo.attempts(d.id)
        try:
            body = json.loads(str(d.message.get("body") or "null"))
        except ValueError:
            body = d.message.get("body")
        return delivery_as(
            DeliveryDetail,
            d,
            body=body,
            attempt_log=[DeliveryAttemptOut.model_validate(a) for a in attempts],
        )

    async def redeliver(self, sub_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
        sub = await self.get(sub_id)
        if not sub.enabled:
            raise Conflict(
                "The subscription is disabled; enable it first (PATCH enabled).",
                code=problems.SUBSCRIPTION_DISABLED,
            )
        d = await self.repo.delivery(sub_id, delivery_id, for_update=True)
        if d is None:
            raise NotFound("No such delivery of this subscription.")
        if d.status == DeliveryStatus.pending.value:
            raise Conflict(
                "The delivery is still pending; it will be tried at "
                f"{center_time(d.next_attempt_at) if d.next_attempt_at else 'once'}.",
                code=problems.DELIVERY_PENDING,
            )
        # One more try, now, by a worker (the API never calls receivers itself).
        d.status = DeliveryStatus.pending.value
        d.next_attempt_at = self.clock.now()
        d.max_attempts = d.attempts + 1
        d.message = {**d.message, "manual": True}
        d.delivered_at = None
        await self.session.execute(text("SELECT pg_notify(:c, '')"), {"c": DELIVERIES_CHANNEL})
        return d

    async def ping(self, sub_id: uuid.UUID) -> uuid.UUID:
        sub = await self.get(sub_id)
        if not sub.enabled:
            raise Conflict(
                "The subscription is disabled; enable it first (PATCH enabled).",
                code=problems.SUBSCRIPTION_DISABLED,
            )
        event = await emit(
            self.session,
            WebhookPing(subscription_id=sub.id, message="ping"),
            aggregate_id=sub.id,
            occurred_at=self.clock.now(),
            actor_id=self.principal.id,
        )
        await self.session.flush()
        return event.id


# --------------------------------------------------------------------------- rules


def rule_out(spec: RuleSpec, customised: bool) -> RuleOut:
    return shown(RuleOut, spec, builtin=spec.code in store.BUILTIN_CODES, customised=customised)


class RuleService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.repo = ConfigRepository(session)
        self.principal = principal

    async def all(self, event_type: str | None) -> list[RuleOut]:
        stored = await self.repo.rules(event_type)
        builtins = [
            r for r in defaults.BUILTIN_RULES if event_type is None or r.event_type == event_type
        ]
        codes = {r.code for r in stored}
        return [rule_out(r, r.builtin and r.code in codes) for r in store.merge(stored, builtins)]

    async def get(self, code: str) -> RuleOut:
        row = await self.repo.rule(code)
        if row is not None:
            return rule_out(store.from_row(row), row.code in store.BUILTIN_CODES)
        builtin = defaults.builtin_rule(code)
        if builtin is None:
            raise NotFound(f"No notification rule `{code}`.")
        return rule_out(builtin, False)

    async def create(self, body: RuleCreate) -> RuleOut:
        if defaults.builtin_rule(body.code) is not None or await self.repo.rule(body.code):
            raise Conflict(f"A rule `{body.code}` exists already.", code=problems.RULE_CODE_TAKEN)
        validate_rule(body.event_type, body.recipients, body.channels, body.payload_match)
        row = NotificationRule(
            code=body.code,
            name=body.name,
            description=body.description,
            event_type=body.event_type,
            recipients=[r.model_dump(mode="json", exclude_none=True) for r in body.recipients],
            channels=[c.value for c in body.channels],
            payload_match=body.payload_match,
            urgent=body.urgent,
            exclude_actor=body.exclude_actor,
            enabled=body.enabled,
            updated_by=self.principal.id,
        )
        self.repo.add(row)
        await self.session.flush()
        return rule_out(store.from_row(row), False)

    async def update(self, code: str, body: RuleUpdate, if_match: str | None) -> RuleOut:
        row = await self.repo.rule(code, for_update=True)
        current = store.from_row(row) if row is not None else defaults.builtin_rule(code)
        if current is None:
            raise NotFound(f"No notification rule `{code}`.")
        check_if_match(if_match, code, current.version)
        changes = body.model_dump(exclude_unset=True)
        for name in (
            "name",
            "recipients",
            "channels",
            "payload_match",
            "urgent",
            "exclude_actor",
            "enabled",
        ):
            if name in changes and changes[name] is None:
                raise Unprocessable(
                    f"`{name}` cannot be null.", field=f"body.{name}", code=VALIDATION
                )
        merged = current.model_copy(
            update={k: getattr(body, k) for k in changes if k not in ("recipients",)}
        )
        if "recipients" in changes:
            merged = merged.model_copy(update={"recipients": body.recipients})
        validate_rule(merged.event_type, merged.recipients, merged.channels, merged.payload_match)
        if _as_sets(merged) == _as_sets(current):  # nothing differs: nothing is stored
            return rule_out(current, row is not None and row.code in store.BUILTIN_CODES)
        values: dict[str, Any] = {
            "name": merged.name,
            "description": merged.description,
            "event_type": merged.event_type,
            "recipients": [r.model_dump(mode="json", exclude_none=True) for r in merged.recipients],
            "channels": [c.value for c in merged.channels],
            "payload_match": merged.payload_match,
            "urgent": merged.urgent,
            "exclude_actor": merged.exclude_actor,
            "enabled": merged.enabled,
            "updated_by": self.principal.id,
        }
        if row is None:  # the first change of a built-in rule: store a copy
            row = NotificationRule(code=code, version=1, **values)
            self.repo.add(row)
        else:
            for k, v in values.items():
                setattr(row, k, v)
            row.version += 1
        await self.session.flush()
        return rule_out(store.from_row(row), row.code in store.BUILTIN_CODES)

    async def delete(self, code: str, if_match: str | None) -> None:
        row = await self.repo.rule(code, for_update=True)
        if row is None:
            if defaults.builtin_rule(code) is not None:
                raise Conflict(
                    'A built-in rule cannot be deleted; disable it with PATCH {"enabled": false}.',
                    code=problems.BUILT_IN_RULE,
                )
            raise NotFound(f"No notification rule `{code}`.")
        check_if_match(if_match, code, row.version)
        await self.repo.delete(row)


def _as_sets(rule: RuleSpec) -> dict[str, Any]:
    """A rule as it compares: its channels, recipients and the values each payload field may
    hold are sets (the same ones in another order are no change)."""
    out: dict[str, Any] = comparable(rule)
    out["channels"] = sorted(out["channels"])
    out["payload_match"] = {
        k: sorted(v, key=lambda x: json.dumps(x, default=str))
        for k, v in out["payload_match"].items()
    }
    out["recipients"] = sorted(
        out["recipients"], key=lambda r: json.dumps(r, sort_keys=True, default=str)
    )
    return out


# --------------------------------------------------------------------------- templates


def template_key(event_type: str, channel: Channel) -> str:
    return f"{event_type}/{channel.value}"


def _stored_out(row: NotificationTemplate) -> TemplateOut:
    """An administrator's text (its version is the ETag's)."""
    return shown(TemplateOut, row, channel=Channel(row.channel), source="stored")


def _builtin_out(event_type: str, channel: Channel, text_: templates.TemplateText) -> TemplateOut:
    """The default text: version 0 (an ETag a first PUT can name)."""
    return TemplateOut(
        event_type=event_type,
        channel=channel,
        subject=text_.subject,
        body=text_.body,
        source="builtin",
        version=0,
    )


class TemplateService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.repo = ConfigRepository(session)
        self.principal = principal

    @staticmethod
    def _check(event_type: str, channel: Channel) -> None:
        # The channel is a MessageChannel of the contract: never a webhook.
        catalog.require_known(event_type, "path.event_type")

    async def all(self) -> list[TemplateOut]:
        stored = {(r.event_type, Channel(r.channel)): r for r in await self.repo.templates()}
        keys = sorted(
            set(defaults.BUILTIN_TEMPLATES) | set(stored), key=lambda k: (k[0], k[1].value)
        )
        builtin = defaults.BUILTIN_TEMPLATES
        return [
            _stored_out(row)
            if (row := stored.get(key)) is not None
            else _builtin_out(*key, builtin[key])
            for key in keys
        ]

    async def get(self, event_type: str, channel: Channel) -> TemplateOut:
        self._check(event_type, channel)
        row = await self.repo.template(event_type, channel)
        if row is not None:
            return _stored_out(row)
        stored = await store.stored_templates(self.session, event_type)
        return _builtin_out(event_type, channel, defaults.resolve(event_type, channel, stored))

    async def put(
        self, event_type: str, channel: Channel, body: TemplatePut, if_match: str | None
    ) -> TemplateOut:
        self._check(event_type, channel)
        row = await self.repo.template(event_type, channel, for_update=True)
        check_if_match(if_match, template_key(event_type, channel), row.version if row else 0)
        subject = body.subject if channel in (Channel.inbox, Channel.email) else None
        templates.validate(event_type, channel, subject, body.body)
        in_force = await self.get(event_type, channel)
        if (in_force.subject, in_force.body) == (subject, body.body):
            return in_force  # the text in force already: nothing is stored
        if row is None:
            row = NotificationTemplate(
                event_type=event_type,
                channel=channel,
                subject=subject,
                body=body.body,
                updated_by=self.principal.id,
            )
            self.repo.add(row)
        else:
            row.subject, row.body = subject, body.body
            row.version += 1
            row.updated_by = self.principal.id
        await self.session.flush()
        return _stored_out(row)

    async def delete(self, event_type: str, channel: Channel, if_match: str | None) -> None:
        self._check(event_type, channel)
        row = await self.repo.template(event_type, channel, for_update=True)
        if row is None:
            raise NotFound("No stored template here; the built-in text applies already.")
        check_if_match(if_match, template_key(event_type, channel), row.version)
        await self.repo.delete(row)

    @staticmethod
    def preview(
        event_type: str,
        channel: Channel,
        subject: str | None,
        body: str,
        payload: dict[str, Any] | None,
    ) -> tuple[str, str]:
        catalog.require_known(event_type, "body.event_type")
        templates.validate(event_type, channel, subject, body)
        sample = catalog.template_variables(event_type)
        ctx = {**sample, **(payload or {})}
        try:
            return templates.render(templates.TemplateText(subject, body), ctx)
        except Exception as exc:  # the caller's own payload values broke it
            raise Unprocessable(
                f"Does not render with that payload: {exc}",
                field="body.payload",
                code=problems.TEMPLATE_INVALID,
            ) from exc
