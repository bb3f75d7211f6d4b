"""Problem codes of the notification rules a client may branch on (see
mediation.errors.rule_code); each is listed in the contract's `Problem.code`."""

from __future__ import annotations

from mediation.errors import rule_code

EVENT_TYPE_UNKNOWN = rule_code(
    "event-type-unknown",
    "Not an event type (or pattern of types) this service emits; see "
    "`GET /api/v1/notification-event-types`.",
)
EVENT_TYPE_INTERNAL = rule_code(
    "event-type-internal",
    "The event type, or every type the pattern matches, is internal: the service sends it to "
    "no webhook subscription (`internal` in `GET /api/v1/notification-event-types`).",
)
RULE_INVALID = rule_code("rule-invalid", "The notification rule cannot be used; `errors` says why.")
RULE_CODE_TAKEN = rule_code("rule-code-taken", "A notification rule with this code exists.")
BUILT_IN_RULE = rule_code(
    "built-in-rule", "A built-in rule cannot be deleted: disable it (`enabled: false`)."
)
TEMPLATE_INVALID = rule_code(
    "template-invalid", "The template does not compile or render; `errors` says where."
)
WEBHOOK_URL_REFUSED = rule_code(
    "webhook-url-refused",
    "The webhook URL is not acceptable (scheme, host, or an address it must not reach).",
)
SUBSCRIPTION_UNIT_REQUIRED = rule_code(
    "subscription-unit-required", "You have no jurisdiction to subscribe to: name a unit."
)
SUBSCRIPTION_DISABLED = rule_code(
    "subscription-disabled", "The subscription is disabled: enable it first."
)
DELIVERY_PENDING = rule_code(
    "delivery-pending", "The delivery is still pending: it will be tried again by itself."
)
