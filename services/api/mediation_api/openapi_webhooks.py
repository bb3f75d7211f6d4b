"""The contract's `webhooks` section, generated from the models the worker sends
(`mediation.outbox.registry.EVENT_MODELS`, in serialization mode): one entry per event type a
subscription can receive. Every entry is the one envelope the worker posts
(`mediation_worker.notifications.fanout.webhook_body`: Standard Webhooks `{type, timestamp,
data}`, `data` being the payload plus the event's `event_id`, `aggregate_type` and
`aggregate_id`) with its type as a constant and `data` referring to its payload model, each
model declared once in components/schemas; the signature headers are shared parameters."""

from __future__ import annotations

import inspect
import re
from typing import Any

from pydantic.json_schema import models_json_schema

from mediation.notifications.catalog import EVENTS
from mediation.outbox.payloads import EventPayload

SIGNED = (
    "Signed as Standard Webhooks has it: headers `webhook-id`, `webhook-timestamp` and "
    "`webhook-signature` with the subscription's secret. Answer 2xx within 10 seconds; "
    "anything else is retried with back-off, with the same `webhook-id` (deduplicate on it)."
)
ENVELOPE = "WebhookEnvelope"
SCHEMAS = "#/components/schemas/"
# The Standard Webhooks headers of every delivery (mediation.notifications.webhooks.headers).
HEADERS = {
    "webhook-id": "The delivery's id: the same in every retry (deduplicate on it).",
    "webhook-timestamp": "Unix seconds of this try: refuse old ones (replay guard).",
    "webhook-signature": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the "
    "subscription's secret; during a secret rotation's overlap, the signature with the "
    "previous secret follows, space-separated: accept the body if one matches.",
}
IDS = {
    "event_id": ("uuid", "The outbox event's id (the same in every retry)."),
    "aggregate_type": (None, "Kind of record the event is about (`case`, `session`...)."),
    "aggregate_id": ("uuid", "That record's id."),
}


def _described(field: str) -> str:
    """What a payload field holds, from its name, where its model does not say."""
    words = field.replace("_", " ")
    if field.endswith("_ids"):
        return f"Ids of the {words[:-4]}s."
    if field.endswith("_id"):
        return f"Id of the {words[:-3]}."
    if field.endswith("_at"):
        return f"When: {words[:-3]}."
    return f"The {words}."


def _open(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A payload schema as receivers read it: more fields may come (no
    `additionalProperties: false`), every property described (then compacted with the rest
    of components/schemas by `openapi_shared.share`)."""
    schema = {k: v for k, v in schema.items() if k != "additionalProperties"}
    schema.setdefault("description", f"Payload of {name}.")
    props = schema.get("properties", {})
    for field, prop in props.items():
        prop.setdefault("description", _described(field))
    return schema


def _bases(model: type) -> list[type[EventPayload]]:
    """The payload models `model` extends (nearest first), not `EventPayload` itself."""
    return [b for b in model.__mro__[1:] if issubclass(b, EventPayload) and b is not EventPayload]


def _extending(schema: dict[str, Any], base: dict[str, Any], ref: str) -> dict[str, Any]:
    """A model's schema as its base's (`ref`) plus what it adds: the base's fields once. A
    model that changes a field it inherits (`allOf` cannot widen one) stays whole."""
    inherited = base.get("properties", {})
    props = schema.get("properties", {})
    loosened = set(base.get("required", [])) - set(schema.get("required", []))
    if loosened or any(props.get(k) != v for k, v in inherited.items()):
        return schema
    own = {k: v for k, v in props.items() if k not in inherited}
    out: dict[str, Any] = {"allOf": [{"$ref": ref}], "type": "object", "properties": own}
    if required := [r for r in schema.get("required", []) if r in own]:
        out["required"] = required
    return out


def _payloads(models: list[type[EventPayload]], schemas: dict[str, Any]) -> dict[type, str]:
    """Each model's schema (and what it uses) in components/schemas once; model → $ref. A
    name the API already declares (the same enum) is that component."""
    every = list(dict.fromkeys([*models, *(b for m in models for b in _bases(m))]))
    refs, top = models_json_schema(
        [(m, "serialization") for m in every], ref_template=SCHEMAS + "{model}"
    )
    found = {model: refs[(model, "serialization")]["$ref"] for model in every}
    full = top.get("$defs", {})
    defs = dict(full)
    for model in every:  # a model extending another says only what it adds
        name = found[model].rsplit("/", 1)[1]
        if parents := _bases(model):
            base = full[found[parents[0]].rsplit("/", 1)[1]]
            defs[name] = _extending(full[name], base, found[parents[0]])
        # A model without a docstring of its own says what its base says.
        defs[name].setdefault("description", inspect.getdoc(model))
    for name, schema in defs.items():
        schemas.setdefault(name, _open(name, schema))
    return {model: found[model] for model in models}


def envelope() -> dict[str, Any]:
    ids = {
        name: {"type": "string", "description": text, **({"format": fmt} if fmt else {})}
        for name, (fmt, text) in IDS.items()
    }
    ids["aggregate_type"]["maxLength"] = 40
    return {
        "type": "object",
        "description": "Every webhook body: Standard Webhooks `{type, timestamp, data}`. " + SIGNED,
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {
                "type": "string",
                "maxLength": 80,
                "description": "The event type, e.g. `case.created`.",
            },
            "timestamp": {
                "type": "string",
                "format": "date-time",
                "description": "When it happened (+08:00).",
            },
            "data": {
                "type": "object",
                "description": "The event's payload (the schema of its type) with the event's "
                "own identifiers; more fields may come: ignore those you do not know.",
                "required": ["event_id", "aggregate_type"],
                "properties": ids,
            },
        },
    }


def _header_name(header: str) -> str:
    return "".join(p.capitalize() for p in header.split("-"))


def add_webhooks(doc: dict[str, Any]) -> None:
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    params = components.setdefault("parameters", {})
    schemas[ENVELOPE] = envelope()
    for header, text in HEADERS.items():
        params[_header_name(header)] = {
            "name": header,
            "in": "header",
            "required": True,
            "description": text,
            "schema": {"type": "string", "maxLength": 1000},
        }
    headers = [{"$ref": "#/components/parameters/" + _header_name(h)} for h in HEADERS]
    sent = {t: spec for t, spec in sorted(EVENTS.items()) if not spec.internal}
    models = list(dict.fromkeys(spec.model for spec in sent.values()))
    refs = _payloads(models, schemas)
    hooks: dict[str, Any] = {}
    for event_type, spec in sent.items():
        body = {
            "allOf": [{"$ref": SCHEMAS + ENVELOPE}],
            "properties": {
                "type": {"const": event_type},
                "data": {"$ref": refs[spec.model]},
            },
        }
        hooks[event_type] = {
            "post": {
                "operationId": "webhook-" + re.sub(r"[._]", "-", event_type),
                "summary": f"{spec.label_zh} ({event_type})",
                "description": spec.description,
                "tags": ["webhooks"],
                "security": [],  # the receiver checks the signature
                "parameters": headers,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {"200": {"description": "Received (any 2xx): no retry."}},
            }
        }
    doc["webhooks"] = hooks
