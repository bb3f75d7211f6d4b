"""The contract's `webhooks` section: one entry per event type a subscription can receive,
with the body the worker posts (`mediation_worker.notifications.fanout.webhook_body`:
Standard Webhooks `{type, timestamp, data}`, `data` being the event's payload plus its
`event_id`, `aggregate_type` and `aggregate_id`). The payload fields come from the outbox
event catalog (mediation.notifications.catalog), whose sample values give their types."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime
from typing import Any

from mediation.notifications.catalog import EVENTS

SIGNED = (
    "Signed as Standard Webhooks has it: headers `webhook-id`, `webhook-timestamp` and "
    "`webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the "
    "subscription's secret). Answer 2xx within 10 seconds; anything else is retried with "
    "back-off, with the same `webhook-id` (deduplicate on it)."
)
ENVELOPE = "WebhookEnvelope"
IDS = {
    "event_id": ("uuid", "The outbox event's id (the same in every retry)."),
    "aggregate_type": (None, "Kind of record the event is about (`case`, `session`...)."),
    "aggregate_id": ("uuid", "That record's id."),
}


def _schema_of(value: Any) -> dict[str, Any]:
    """A payload field's schema from its sample value."""
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer", "format": "int64"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, list):
        return {"type": "array", "items": _schema_of(value[0]) if value else {}}
    if isinstance(value, dict):
        return {"type": "object"}
    if value is None:
        return {}
    text = str(value)
    for fmt, parse in (("uuid", uuid.UUID), ("date-time", datetime.fromisoformat)):
        try:
            parse(text)
            if fmt == "uuid" or "T" in text:
                return {"type": "string", "format": fmt}
        except ValueError:
            pass
    try:
        date.fromisoformat(text)
        return {"type": "string", "format": "date"}
    except ValueError:
        return {"type": "string"}


def _described(field: str) -> str:
    """What a payload field holds, from its name (the catalog names fields, it does not
    describe them)."""
    words = field.replace("_", " ")
    if field.endswith("_ids"):
        return f"Ids of the {words[:-4]}s."
    if field.endswith("_id"):
        return f"Id of the {words[:-3]}."
    if field.endswith("_at"):
        return f"When: {words[:-3]}."
    return f"The {words}."


def _data(variables: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, (fmt, text) in IDS.items():
        props[name] = {"type": "string", "description": text, **({"format": fmt} if fmt else {})}
    for name, sample in variables.items():
        props.setdefault(name, {**_schema_of(sample), "description": _described(name)})
    return {
        "type": "object",
        "description": "The event's payload (more fields may come: ignore those you do not "
        "know), with the event's own identifiers.",
        "required": ["event_id", "aggregate_type"],
        "properties": props,
        "additionalProperties": True,
    }


def envelope() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Every webhook body: Standard Webhooks `{type, timestamp, data}`. " + SIGNED,
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"type": "string", "description": "The event type, e.g. `case.created`."},
            "timestamp": {
                "type": "string",
                "format": "date-time",
                "description": "When it happened (+08:00).",
            },
            "data": {"type": "object", "description": "The event's payload."},
        },
    }


def _name(event_type: str) -> str:
    return "Webhook" + "".join(p.capitalize() for p in re.split(r"[._]", event_type)) + "Data"


def add_webhooks(doc: dict[str, Any]) -> None:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas[ENVELOPE] = envelope()
    # Event types with the same payload share the schema of their data.
    names: dict[str, str] = {}
    hooks: dict[str, Any] = {}
    for event_type, spec in sorted(EVENTS.items()):
        if spec.internal:
            continue
        data = _data(spec.variables)
        name = names.setdefault(json.dumps(data, sort_keys=True), _name(event_type))
        schemas.setdefault(name, data)
        body = {
            "allOf": [{"$ref": f"#/components/schemas/{ENVELOPE}"}],
            "properties": {
                "type": {"const": event_type},
                "data": {"$ref": f"#/components/schemas/{name}"},
            },
        }
        hooks[event_type] = {
            "post": {
                "operationId": "webhook-" + re.sub(r"[._]", "-", event_type),
                "summary": f"{spec.label_zh} ({event_type})",
                "description": spec.description,
                "tags": ["webhooks"],
                "security": [],  # the receiver checks the signature
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {"200": {"description": "Received (any 2xx): no retry."}},
            }
        }
    doc["webhooks"] = hooks
