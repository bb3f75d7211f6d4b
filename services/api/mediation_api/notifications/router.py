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
from mediation.notifications.rules import CODE_PATTERN
from mediation.settings import Settings
from mediation_api.deps import (
    ClockDep,
    CurrentPrincipal,
    IfMatch,
    Session,
    State,
    get_settings_dep,
    require,
)
from mediation_api.idempotency import Idempotency
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
from mediation_api.pagination import DEFAULT, Cursor, Limit, build_page, cursor_values
from mediation_api.problems import responses
from mediation_api.replicas import list_connection

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


@inbox_router.post(
    "/{notification_id}/read",
    operation_id="notifications-mark-read",
    summary="Mark read",
    description="Marks one of the caller's messages read (again: no change).",
    responses=responses(401, 403, 404, 422),
)
async def mark_read(
    notification_id: Annotated[
        uuid.UUID, Path(description="The notification (one of the caller's own).")
    ],
    session: Session,
    clock: ClockDep,
    principal: Reader,
) -> NotificationOut:
    item = await InboxService(session, clock, principal).mark_read(notification_id)
    return NotificationOut.model_validate(item)


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


@webhooks_router.get(
    "",
    operation_id="webhooks-list",
    summary="Webhook subscriptions",
    description="Subscriptions in the caller's jurisdiction, oldest first.",
    responses=responses(401, 403, 422),
)
async def list_webhooks(
    session: Session,
    principal: Manager,
    enabled: Annotated[bool | None, Query(description="Only enabled (or disabled) ones.")] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[WebhookOut]:
    after = cursor_values(cursor, "i")
    rows = await WebhookRepository(session).page(
        principal, enabled=enabled, after=uuid.UUID(after["i"]) if after else None, limit=limit
    )
    items, next_cursor = build_page(rows, limit, lambda r: {"i": str(r.id)})
    return Page[WebhookOut](
        items=[WebhookOut.model_validate(i) for i in items], next_cursor=next_cursor
    )


@webhooks_router.post(
    "",
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
async def create_webhook(
    body: WebhookCreate, service: WebhookSvc, session: Session, idem: Idempotency
) -> Response:
    if (replay := await idem.replay()) is not None:
        return replay
    sub = await service.create(body)
    out = WebhookWithSecret(**WebhookOut.model_validate(sub).model_dump(), secret=sub.secret)
    return await idem.respond(
        session,
        out,
        status_code=201,
        headers={"ETag": etag_of(sub.id, sub.version), "Location": f"/api/v1/webhooks/{sub.id}"},
    )


@webhooks_router.get(
    "/{subscription_id}",
    operation_id="webhooks-get",
    summary="Read a subscription",
    description="The subscription with its ETag and delivery health.",
    responses=responses(401, 403, 404, 422),
)
async def get_webhook(
    subscription_id: SubId, service: WebhookSvc, response: Response
) -> WebhookOut:
    sub = await service.get(subscription_id)
    response.headers["ETag"] = etag_of(sub.id, sub.version)
    return WebhookOut.model_validate(sub)


@webhooks_router.patch(
    "/{subscription_id}",
    operation_id="webhooks-update",
    summary="Change a subscription",
    description="Needs If-Match. `enabled: true` resumes a disabled subscription (deliveries "
    "that failed meanwhile can be redelivered by hand).",
    responses=responses(401, 403, 404, 412, 422, 428),
)
async def update_webhook(
    subscription_id: SubId,
    body: WebhookUpdate,
    service: WebhookSvc,
    response: Response,
    if_match: IfMatch = None,
) -> WebhookOut:
    sub = await service.update(subscription_id, body, if_match)
    response.headers["ETag"] = etag_of(sub.id, sub.version)
    return WebhookOut.model_validate(sub)


@webhooks_router.delete(
    "/{subscription_id}",
    operation_id="webhooks-delete",
    summary="Delete a subscription",
    description="Needs If-Match. Its deliveries go with it.",
    status_code=204,
    response_class=Response,
    responses=responses(401, 403, 404, 412, 422, 428),
)
async def delete_webhook(
    subscription_id: SubId, service: WebhookSvc, if_match: IfMatch = None
) -> Response:
    await service.delete(subscription_id, if_match)
    return Response(status_code=204)


@webhooks_router.post(
    "/{subscription_id}/rotate-secret",
    operation_id="webhooks-rotate-secret",
    summary="Rotate the secret",
    description="Needs If-Match. A new `whsec_` secret signs from now on; the old one keeps "
    "signing too until `previous_secret_expires_at` (`overlap_hours`, by default "
    "`MEDIATION_WEBHOOK_SECRET_OVERLAP_HOURS`): meanwhile `webhook-signature` carries both "
    "signatures, the new one first. `overlap_hours=0` stops the old secret at once.",
    responses=responses(401, 403, 404, 412, 422, 428),
)
async def rotate_secret(
    subscription_id: SubId,
    service: WebhookSvc,
    response: Response,
    if_match: IfMatch = None,
    overlap_hours: Annotated[
        int | None,
        Query(
            ge=0,
            le=168,
            description="Hours the old secret keeps signing (0..168); "
            "default: the server setting (24 unless configured).",
        ),
    ] = None,
) -> WebhookWithSecret:
    sub = await service.rotate(subscription_id, if_match, overlap_hours)
    response.headers["ETag"] = etag_of(sub.id, sub.version)
    return WebhookWithSecret(**WebhookOut.model_validate(sub).model_dump(), secret=sub.secret)


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


@webhooks_router.get(
    "/{subscription_id}/deliveries",
    operation_id="webhooks-deliveries-list",
    summary="Deliveries of a subscription",
    description="Newest first, with state, tries and the next try. Filter by `status`.",
    responses=responses(401, 403, 404, 422),
)
async def list_deliveries(
    subscription_id: SubId,
    service: WebhookSvc,
    session: Session,
    status: Annotated[DeliveryStatus | None, Query(description="Only this state.")] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[DeliveryOut]:
    await service.get(subscription_id)
    after = cursor_values(cursor, "i")
    rows = await WebhookRepository(session).deliveries(
        subscription_id, status=status, before=uuid.UUID(after["i"]) if after else None, limit=limit
    )
    items, next_cursor = build_page(rows, limit, lambda r: {"i": str(r.id)})
    return Page[DeliveryOut](items=[delivery_out(d) for d in items], next_cursor=next_cursor)


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


@webhooks_router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    operation_id="webhooks-deliveries-redeliver",
    summary="Redeliver by hand",
    description="One more try of a delivered, failed or cancelled delivery, at once, with "
    "the same `webhook-id` and body (receivers deduplicate on it). 409 while it is still "
    "pending or the subscription is disabled.",
    status_code=202,
    response_model=Redelivery,
    responses=responses(401, 403, 404, 409, 422),
)
async def redeliver(
    subscription_id: SubId,
    delivery_id: DeliveryId,
    service: WebhookSvc,
    session: Session,
    idem: Idempotency,
) -> Response:
    if (replay := await idem.replay()) is not None:
        return replay
    d = await service.redeliver(subscription_id, delivery_id)
    return await idem.respond(session, Redelivery(delivery=delivery_out(d)), status_code=202)


# --------------------------------------------------------------------------- configuration

config_router = APIRouter(tags=["notification-config"])
Code = Annotated[str, Path(pattern=CODE_PATTERN, description="The rule's code.")]
EventType = Annotated[str, Path(max_length=80, description="Event type, e.g. case.assigned.")]
ChannelPath = Annotated[
    MessageChannel, Path(description="inbox, email, sms or wecom (webhooks have no template).")
]


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
        EventTypeOut(
            type=s.type,
            label_zh=s.label_zh,
            description=s.description,
            variables={**s.variables, **catalog.COMMON_VARIABLES},
            person_fields=list(s.person_fields),
            unit_fields=list(s.unit_fields),
            unit_scoped=s.unit_scoped,
            internal=s.internal,
        )
        for s in catalog.EVENTS.values()
    ]


@config_router.get(
    "/notification-rules",
    operation_id="notification-rules-list",
    summary="Rules in effect",
    description="Built-in rules (as changed, if changed) and administrators' own, by code.",
    responses=responses(401, 403, 422),
)
async def list_rules(
    session: Session,
    principal: Configurer,
    event_type: Annotated[str | None, Query(max_length=80, description="Only this type.")] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[RuleOut]:
    after = cursor_values(cursor, "c")
    rules = sorted(await RuleService(session, principal).all(event_type), key=lambda r: r.code)
    if after:
        rules = [r for r in rules if r.code > after["c"]]
    items, next_cursor = build_page(rules[: limit + 1], limit, lambda r: {"c": r.code})
    return Page[RuleOut](items=items, next_cursor=next_cursor)


@config_router.post(
    "/notification-rules",
    operation_id="notification-rules-create",
    summary="Add a rule",
    description="Recipients: `payload_people` (a person-id field of the event), `role` (holders "
    "at the event's unit, its parent, the nearest ancestor with one, every ancestor, or "
    "anywhere; optionally from a unit-id field) and `people` (fixed). 422: an unknown event "
    "type, a field the event does not carry, no recipients for personal channels.",
    status_code=201,
    responses=responses(401, 403, 409, 422),
)
async def create_rule(
    body: RuleCreate, session: Session, principal: Configurer, response: Response
) -> RuleOut:
    out = await RuleService(session, principal).create(body)
    response.headers["ETag"] = etag_of(out.code, out.version)
    response.headers["Location"] = f"/api/v1/notification-rules/{out.code}"
    return out


@config_router.get(
    "/notification-rules/{code}",
    operation_id="notification-rules-get",
    summary="Read a rule",
    description="The rule in effect with its ETag.",
    responses=responses(401, 403, 404, 422),
)
async def get_rule(
    code: Code, session: Session, principal: Configurer, response: Response
) -> RuleOut:
    out = await RuleService(session, principal).get(code)
    response.headers["ETag"] = etag_of(out.code, out.version)
    return out


@config_router.patch(
    "/notification-rules/{code}",
    operation_id="notification-rules-update",
    summary="Change a rule",
    description="Needs If-Match. Changing a built-in rule stores a "
    "copy that replaces it (DELETE reverts). `enabled: false` turns a rule off.",
    responses=responses(401, 403, 404, 412, 422, 428),
)
async def update_rule(
    code: Code,
    body: RuleUpdate,
    session: Session,
    principal: Configurer,
    response: Response,
    if_match: IfMatch = None,
) -> RuleOut:
    out = await RuleService(session, principal).update(code, body, if_match)
    response.headers["ETag"] = etag_of(out.code, out.version)
    return out


@config_router.delete(
    "/notification-rules/{code}",
    operation_id="notification-rules-delete",
    summary="Delete a rule",
    description="Needs If-Match. Deletes an own rule, or reverts a "
    "changed built-in rule; 409 for an unchanged built-in rule (disable it instead).",
    status_code=204,
    response_class=Response,
    responses=responses(401, 403, 404, 409, 412, 422, 428),
)
async def delete_rule(
    code: Code, session: Session, principal: Configurer, if_match: IfMatch = None
) -> Response:
    await RuleService(session, principal).delete(code, if_match)
    return Response(status_code=204)


@config_router.get(
    "/notification-templates",
    operation_id="notification-templates-list",
    summary="Templates",
    description="Every stored and built-in text, by event type and "
    "channel. Channels without one use the inbox text.",
    responses=responses(401, 403, 422),
)
async def list_templates(
    session: Session,
    principal: Configurer,
    event_type: Annotated[str | None, Query(max_length=80, description="Only this type.")] = None,
    channel: Annotated[Channel | None, Query(description="Only this channel.")] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[TemplateOut]:
    after = cursor_values(cursor, "k")
    rows = [
        t
        for t in await TemplateService(session, principal).all()
        if (event_type is None or t.event_type == event_type)
        and (channel is None or t.channel == channel)
    ]
    if after:
        rows = [t for t in rows if template_key(t.event_type, t.channel) > after["k"]]
    items, next_cursor = build_page(
        rows[: limit + 1], limit, lambda t: {"k": template_key(t.event_type, t.channel)}
    )
    return Page[TemplateOut](items=items, next_cursor=next_cursor)


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


@config_router.get(
    "/notification-templates/{event_type}/{channel}",
    operation_id="notification-templates-get",
    summary="Read a template",
    description="The text in effect (stored, else built-in) with its ETag.",
    responses=responses(401, 403, 404, 422),
)
async def get_template(
    event_type: EventType,
    channel: ChannelPath,
    session: Session,
    principal: Configurer,
    response: Response,
) -> TemplateOut:
    out = await TemplateService(session, principal).get(event_type, channel.channel)
    response.headers["ETag"] = etag_of(template_key(event_type, channel.channel), out.version)
    return out


@config_router.put(
    "/notification-templates/{event_type}/{channel}",
    operation_id="notification-templates-put",
    summary="Set a template",
    description="Needs If-Match (the ETag read, also for a built-in "
    "text). 422 with field errors: a syntax error, a variable the event type does not have, "
    "a text that does not render with a sample event or is too long for the channel.",
    responses=responses(401, 403, 412, 422, 428),
)
async def put_template(
    event_type: EventType,
    channel: ChannelPath,
    body: TemplatePut,
    session: Session,
    principal: Configurer,
    response: Response,
    if_match: IfMatch = None,
) -> TemplateOut:
    service = TemplateService(session, principal)
    out = await service.put(event_type, channel.channel, body, if_match)
    response.headers["ETag"] = etag_of(template_key(event_type, channel.channel), out.version)
    return out


@config_router.delete(
    "/notification-templates/{event_type}/{channel}",
    operation_id="notification-templates-delete",
    summary="Revert to the built-in text",
    description="Needs If-Match. Removes the stored text.",
    status_code=204,
    response_class=Response,
    responses=responses(401, 403, 404, 412, 422, 428),
)
async def delete_template(
    event_type: EventType,
    channel: ChannelPath,
    session: Session,
    principal: Configurer,
    if_match: IfMatch = None,
) -> Response:
    await TemplateService(session, principal).delete(event_type, channel.channel, if_match)
    return Response(status_code=204)


routers = [inbox_router, webhooks_router, config_router]
