"""The in-app inbox (`/me/notifications`), webhook subscriptions with their deliveries and
redelivery (`/webhooks`), and the notification configuration: rules, templates and the event
catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.contracts.common import Page
from mediation.contracts.etag import etag_of
from mediation.notifications import catalog
from mediation.notifications.enums import Channel, DeliveryStatus, MessageChannel
from mediation.notifications.models import WebhookSubscription
from mediation.notifications.rules import CODE_PATTERN
from mediation.outbox.models import Delivery
from mediation.settings import Settings
from mediation_api.actions import ActionCall, action_route
from mediation_api.deps import (
    ClockDep,
    CurrentPrincipal,
    Session,
    State,
    get_settings_dep,
    require,
)
from mediation_api.notifications.contracts import (
    DeliveryDetail,
    DeliveryOut,
    EventTypeOut,
    MarkAllRead,
    MarkedRead,
    NotificationOut,
    PingQueued,
    Redelivery,
    Rendered,
    RuleCreate,
    RuleOut,
    RuleUpdate,
    TemplateOut,
    TemplatePreview,
    TemplatePut,
    UnreadCount,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
    WebhookWithSecret,
)
from mediation_api.notifications.reads import inbox_page_json, inbox_query
from mediation_api.notifications.repository import InboxRepository, WebhookRepository
from mediation_api.notifications.service import (
    InboxService,
    RuleService,
    TemplateService,
    WebhookService,
    delivery_out,
    require_person,
    template_key,
)
from mediation_api.pagination import DEFAULT, Cursor, Limit, build_page, cursor_values, memory_page
from mediation_api.plain_routes import Args, PlainRecords, list_route, record_route
from mediation_api.problems import responses
from mediation_api.replicas import list_connection
from mediation_api.shown import shown

Reader = Annotated[Principal, Depends(require(Permission.notifications_read))]
Manager = Annotated[Principal, Depends(require(Permission.webhooks_manage))]
Configurer = Annotated[Principal, Depends(require(Permission.notifications_configure))]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]

# --------------------------------------------------------------------------- inbox

inbox_router = APIRouter(prefix="/me/notifications", tags=["notifications"])


@inbox_router.get(
    "",
    operation_id="notifications-list",
    summary="My notifications",
    description="The caller's in-app messages, newest first. Filters: `unread`, `urgent`, `type`.",
    response_model=Page[NotificationOut],
    responses=responses(401, 403, 422),
)
async def list_notifications(
    state: State,
    principal: Reader,
    unread: Annotated[bool | None, Query(description="Only unread (true) or read (false).")] = None,
    urgent: Annotated[bool | None, Query(description="Only urgent (or non-urgent) ones.")] = None,
    type: Annotated[str | None, Query(max_length=80, description="Only this event type.")] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Response:
    user_id = require_person(principal)
    after = cursor_values(cursor, "i")
    # One statement on the read pool (or a fit replica): no ORM transaction for a list.
    sql, args = inbox_query(
        user_id,
        unread=unread,
        urgent=urgent,
        type_=type,
        before=uuid.UUID(after["i"]) if after else None,
        limit=limit,
    )
    async with list_connection(state, principal) as conn:
        rows = await conn.fetch(sql, *args)
    items, next_cursor = build_page(rows, limit, lambda r: {"i": str(r["id"])})
    return Response(inbox_page_json(items, next_cursor), media_type="application/json")


@inbox_router.get(
    "/unread-count",
    operation_id="notifications-unread-count",
    summary="Unread count",
    description="How many messages the caller has not read (for the badge).",
    responses=responses(401, 403),
)
async def unread_count(session: Session, principal: Reader) -> UnreadCount:
    unread, urgent = await InboxRepository(session).unread_counts(require_person(principal))
    return UnreadCount(unread=unread, urgent_unread=urgent)


record_route(
    inbox_router,
    "post",
    "/{notification_id}/read",
    params=[
        (
            "notification_id",
            Annotated[uuid.UUID, Path(description="The notification (one of the caller's own).")],
        ),
        ("session", Session),
        ("clock", ClockDep),
        ("principal", Reader),
    ],
    run=lambda a: InboxService(a["session"], a["clock"], a["principal"]).mark_read(
        a["notification_id"]
    ),
    out=NotificationOut,
    etag=None,
    operation_id="notifications-mark-read",
    summary="Mark read",
    description="Marks one of the caller's messages read (again: no change).",
    responses=responses(401, 403, 404, 422),
)


@inbox_router.post(
    "/read-all",
    operation_id="notifications-mark-all-read",
    summary="Mark all read",
    description="Marks every unread message read, or only those up to `up_to`.",
    responses=responses(401, 403, 422),
)
async def mark_all_read(
    body: MarkAllRead, session: Session, clock: ClockDep, principal: Reader
) -> MarkedRead:
    n = await InboxRepository(session).mark_all(require_person(principal), body.up_to, clock.now())
    return MarkedRead(marked=n)


# --------------------------------------------------------------------------- webhooks

webhooks_router = APIRouter(prefix="/webhooks", tags=["webhooks"])
SubId = Annotated[uuid.UUID, Path(description="The subscription.")]
DeliveryId = Annotated[uuid.UUID, Path(description="The delivery.")]


async def _svc(
    session: Session, clock: ClockDep, settings: SettingsDep, principal: Manager
) -> WebhookService:
    return WebhookService(session, clock, settings, principal)


WebhookSvc = Annotated[WebhookService, Depends(_svc)]
OverlapHours = Annotated[
    int | None,
    Query(
        ge=0,
        le=168,
        description="Hours the old secret keeps signing (0..168); "
        "default: the server setting (24 unless configured).",
    ),
]


def _with_secret(sub: WebhookSubscription) -> WebhookWithSecret:
    return WebhookWithSecret(**WebhookOut.model_validate(sub).model_dump(), secret=sub.secret)


list_route(
    webhooks_router,
    "",
    params=[
        ("session", Session),
        ("principal", Manager),
        (
            "enabled",
            Annotated[bool | None, Query(description="Only enabled (or disabled) ones.")],
            None,
        ),
    ],
    fetch=lambda a, limit, cursor: WebhookRepository(a["session"]).page(
        a["principal"], enabled=a["enabled"], limit=limit, cursor=cursor
    ),
    out=WebhookOut,
    operation_id="webhooks-list",
    summary="Webhook subscriptions",
    description="Subscriptions in the caller's jurisdiction, oldest first.",
    responses=responses(401, 403, 422),
)


async def _create_webhook(call: ActionCall) -> Response:
    sub = await call.deps["service"].create(call.body)
    return await call.answer(
        _with_secret(sub), 201, record=sub, location=f"/api/v1/webhooks/{sub.id}"
    )


action_route(
    webhooks_router,
    "",
    body=WebhookCreate,
    precondition=False,
    deps=[("service", WebhookSvc), ("session", Session)],
    handle=_create_webhook,
    operation_id="webhooks-create",
    summary="Subscribe a system",
    description="Events of the chosen types (exact, `prefix.*` or `*`) in the unit's subtree "
    "are POSTed to the URL per Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`, "
    "`webhook-signature`), body `{type, timestamp, data}`. A 2xx is success; others are "
    "retried at about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (with jitter), then "
    "the delivery fails and the subscription is disabled; 410 disables it at once. The answer "
    "carries the `whsec_` secret, shown only here and on rotation. 422: a URL that is not "
    "http(s) or points at a link-local/metadata address, an unknown event type.",
    status_code=201,
    response_model=WebhookWithSecret,
    responses=responses(401, 403, 409, 422),
)
subscriptions = PlainRecords(
    webhooks_router,
    "",
    [("subscription_id", SubId)],
    WebhookOut,
    readers=[("service", WebhookSvc)],
    writers=[("service", WebhookSvc)],
)
subscriptions.read(
    lambda a: a["service"].get(a["subscription_id"]),
    operation_id="webhooks-get",
    summary="Read a subscription",
    description="The subscription with its ETag and delivery health.",
    responses=responses(401, 403, 404, 422),
)
subscriptions.change(
    WebhookUpdate,
    lambda a: a["service"].update(a["subscription_id"], a["body"], a["if_match"]),
    operation_id="webhooks-update",
    summary="Change a subscription",
    description="Needs If-Match. `enabled: true` resumes a disabled subscription (deliveries "
    "that failed meanwhile can be redelivered by hand).",
    responses=responses(401, 403, 404, 412, 422, 428),
)
subscriptions.remove(
    lambda a: a["service"].delete(a["subscription_id"], a["if_match"]),
    operation_id="webhooks-delete",
    summary="Delete a subscription",
    description="Needs If-Match. Its deliveries go with it.",
    response_class=Response,
    responses=responses(401, 403, 404, 412, 422, 428),
)
subscriptions.change(
    None,
    lambda a: a["service"].rotate(a["subscription_id"], a["if_match"], a["overlap_hours"]),
    method="post",
    action="rotate-secret",
    more=[("overlap_hours", OverlapHours, None)],
    out=WebhookWithSecret,
    show=lambda sub, _: _with_secret(sub),
    operation_id="webhooks-rotate-secret",
    summary="Rotate the secret",
    description="Needs If-Match. A new `whsec_` secret signs from now on; the old one keeps "
    "signing too until `previous_secret_expires_at` (`overlap_hours`, by default "
    "`MEDIATION_WEBHOOK_SECRET_OVERLAP_HOURS`): meanwhile `webhook-signature` carries both "
    "signatures, the new one first. `overlap_hours=0` stops the old secret at once.",
    responses=responses(401, 403, 404, 412, 422, 428),
)


@webhooks_router.post(
    "/{subscription_id}/ping",
    operation_id="webhooks-ping",
    summary="Send a test message",
    description="Queues a `webhook.ping` event for this subscription only; see its delivery "
    "in the deliveries list.",
    status_code=202,
    responses=responses(401, 403, 404, 409, 422),
)
async def ping(subscription_id: SubId, service: WebhookSvc) -> PingQueued:
    return PingQueued(event_id=await service.ping(subscription_id))


async def _deliveries(a: Args, limit: int, cursor: str | None) -> tuple[list[Delivery], str | None]:
    await a["service"].get(a["subscription_id"])  # in the caller's jurisdiction, else 404
    return await WebhookRepository(a["session"]).deliveries(
        a["subscription_id"], status=a["status"], limit=limit, cursor=cursor
    )


list_route(
    webhooks_router,
    "/{subscription_id}/deliveries",
    params=[
        ("subscription_id", SubId),
        ("service", WebhookSvc),
        ("session", Session),
        ("status", Annotated[DeliveryStatus | None, Query(description="Only this state.")], None),
    ],
    fetch=_deliveries,
    out=DeliveryOut,
    show=lambda d, _: delivery_out(d),
    operation_id="webhooks-deliveries-list",
    summary="Deliveries of a subscription",
    description="Newest first, with state, tries and the next try. Filter by `status`.",
    responses=responses(401, 403, 404, 422),
)


@webhooks_router.get(
    "/{subscription_id}/deliveries/{delivery_id}",
    operation_id="webhooks-deliveries-get",
    summary="One delivery with every attempt",
    description="The body sent and each try: "
    "when, how long, the status and the start of the answer.",
    responses=responses(401, 403, 404, 422),
)
async def get_delivery(
    subscription_id: SubId, delivery_id: DeliveryId, service: WebhookSvc
) -> DeliveryDetail:
    return await service.detail(subscription_id, delivery_id)


async def _redeliver(call: ActionCall) -> Response:
    d = await call.deps["service"].redeliver(call.deps["subscription_id"], call.deps["delivery_id"])
    return await call.answer(Redelivery(delivery=delivery_out(d)), 202)


action_route(
    webhooks_router,
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    precondition=False,
    deps=[
        ("subscription_id", SubId),
        ("delivery_id", DeliveryId),
        ("service", WebhookSvc),
        ("session", Session),
    ],
    handle=_redeliver,
    operation_id="webhooks-deliveries-redeliver",
    summary="Redeliver by hand",
    description="One more try of a delivered, failed or cancelled delivery, at once, with "
    "the same `webhook-id` and body (receivers deduplicate on it). 409 while it is still "
    "pending or the subscription is disabled.",
    status_code=202,
    response_model=Redelivery,
    responses=responses(401, 403, 404, 409, 422),
)


# --------------------------------------------------------------------------- configuration

config_router = APIRouter(tags=["notification-config"])
Code = Annotated[str, Path(pattern=CODE_PATTERN, description="The rule's code.")]
EventType = Annotated[str, Path(max_length=80, description="Event type, e.g. case.assigned.")]
ChannelPath = Annotated[
    MessageChannel, Path(description="inbox, email, sms or wecom (webhooks have no template).")
]
OfType = Annotated[str | None, Query(max_length=80, description="Only this type.")]
CONFIG = [("session", Session), ("principal", Configurer)]


@config_router.get(
    "/notification-event-types",
    operation_id="notification-event-types-list",
    summary="Event types",
    description="Every event type the service emits: meaning, template "
    "variables (with samples), fields holding person and unit ids. Rules, templates and "
    "subscriptions may name only these.",
    responses=responses(401),
)
async def event_types(principal: CurrentPrincipal) -> list[EventTypeOut]:
    return [
        shown(
            EventTypeOut,
            s,
            variables=catalog.template_variables(s.type),
            person_fields=list(s.person_fields),
            unit_fields=list(s.unit_fields),
        )
        for s in catalog.EVENTS.values()
    ]


async def _rules(a: Args, limit: int, cursor: str | None) -> tuple[list[RuleOut], str | None]:
    rules = await RuleService(a["session"], a["principal"]).all(a["event_type"])
    return memory_page(rules, lambda r: r.code, limit, cursor)


def _rule_etag(out: RuleOut) -> str:
    return etag_of(out.code, out.version)


def _rules_of(a: Args) -> RuleService:
    return RuleService(a["session"], a["principal"])


rules = PlainRecords(
    config_router,
    "/notification-rules",
    [("code", Code)],
    RuleOut,
    readers=CONFIG,
    writers=CONFIG,
    show=lambda rule, _: rule,
    etag=_rule_etag,
)
rules.list(
    [("event_type", OfType, None)],
    _rules,
    operation_id="notification-rules-list",
    summary="Rules in effect",
    description="Built-in rules (as changed, if changed) and administrators' own, by code.",
    responses=responses(401, 403, 422),
)
rules.create(
    RuleCreate,
    lambda a: _rules_of(a).create(a["body"]),
    location=lambda rule, _: f"/api/v1/notification-rules/{rule.code}",
    operation_id="notification-rules-create",
    summary="Add a rule",
    description="Recipients: `payload_people` (a person-id field of the event), `role` (holders "
    "at the event's unit, its parent, the nearest ancestor with one, every ancestor, or "
    "anywhere; optionally from a unit-id field) and `people` (fixed). 422: an unknown event "
    "type, a field the event does not carry, no recipients for personal channels.",
    responses=responses(401, 403, 409, 422),
)
rules.read(
    lambda a: _rules_of(a).get(a["code"]),
    operation_id="notification-rules-get",
    summary="Read a rule",
    description="The rule in effect with its ETag.",
    responses=responses(401, 403, 404, 422),
)
rules.change(
    RuleUpdate,
    lambda a: _rules_of(a).update(a["code"], a["body"], a["if_match"]),
    operation_id="notification-rules-update",
    summary="Change a rule",
    description="Needs If-Match. Changing a built-in rule stores a "
    "copy that replaces it (DELETE reverts). `enabled: false` turns a rule off.",
    responses=responses(401, 403, 404, 412, 422, 428),
)
rules.remove(
    lambda a: _rules_of(a).delete(a["code"], a["if_match"]),
    operation_id="notification-rules-delete",
    summary="Delete a rule",
    description="Needs If-Match. Deletes an own rule, or reverts a "
    "changed built-in rule; 409 for an unchanged built-in rule (disable it instead).",
    response_class=Response,
    responses=responses(401, 403, 404, 409, 412, 422, 428),
)


def _template_key(out: TemplateOut) -> str:
    return template_key(out.event_type, out.channel)


async def _templates(
    a: Args, limit: int, cursor: str | None
) -> tuple[list[TemplateOut], str | None]:
    event_type, channel = a["event_type"], a["channel"]
    rows = [
        t
        for t in await TemplateService(a["session"], a["principal"]).all()
        if (event_type is None or t.event_type == event_type)
        and (channel is None or t.channel == channel)
    ]
    return memory_page(rows, _template_key, limit, cursor)


templates = PlainRecords(
    config_router,
    "/notification-templates",
    [("event_type", EventType), ("channel", ChannelPath)],
    TemplateOut,
    readers=CONFIG,
    writers=CONFIG,
    show=lambda template, _: template,
    etag=lambda out: etag_of(_template_key(out), out.version),
)
templates.list(
    [
        ("event_type", OfType, None),
        ("channel", Annotated[Channel | None, Query(description="Only this channel.")], None),
    ],
    _templates,
    operation_id="notification-templates-list",
    summary="Templates",
    description="Every stored and built-in text, by event type and "
    "channel. Channels without one use the inbox text.",
    responses=responses(401, 403, 422),
)


@config_router.post(
    "/notification-templates/preview",
    operation_id="notification-templates-preview",
    summary="Preview a template",
    description="Checks a template as PUT would and renders it "
    "with the event type's sample payload (or values you give).",
    responses=responses(401, 403, 422),
)
async def preview_template(body: TemplatePreview, principal: Configurer) -> Rendered:
    subject, text_ = TemplateService.preview(
        body.event_type, body.channel.channel, body.subject, body.body, body.payload
    )
    return Rendered(subject=subject, body=text_)


def _templates_of(a: Args) -> TemplateService:
    return TemplateService(a["session"], a["principal"])


templates.read(
    lambda a: _templates_of(a).get(a["event_type"], a["channel"].channel),
    operation_id="notification-templates-get",
    summary="Read a template",
    description="The text in effect (stored, else built-in) with its ETag.",
    responses=responses(401, 403, 404, 422),
)
templates.change(
    TemplatePut,
    lambda a: _templates_of(a).put(a["event_type"], a["channel"].channel, a["body"], a["if_match"]),
    method="put",
    operation_id="notification-templates-put",
    summary="Set a template",
    description="Needs If-Match (the ETag read, also for a built-in "
    "text). 422 with field errors: a syntax error, a variable the event type does not have, "
    "a text that does not render with a sample event or is too long for the channel.",
    responses=responses(401, 403, 412, 422, 428),
)
templates.remove(
    lambda a: _templates_of(a).delete(a["event_type"], a["channel"].channel, a["if_match"]),
    operation_id="notification-templates-delete",
    summary="Revert to the built-in text",
    description="Needs If-Match. Removes the stored text.",
    response_class=Response,
    responses=responses(401, 403, 404, 412, 422, 428),
)


routers = [inbox_router, webhooks_router, config_router]
