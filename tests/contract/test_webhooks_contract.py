"""The contract's `webhooks` section describes the bodies the worker posts (issue 19,
item 8): one entry per event type a subscription can receive, generated from the payload
models the producers emit, and a body built by the worker's own `webhook_body` validates
against its entry — a real outbox event here and in the life-cycle test
(tests/sessions/test_life_cycle_events.py), a payload built through its model for every
other type."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import date, datetime
from typing import Any, get_args, get_origin

import httpx
import jsonschema_rs
from sqlalchemy import select

from mediation.clock import CENTER_TZ
from mediation.notifications.catalog import EVENTS
from mediation.outbox.models import OutboxEvent
from mediation.outbox.payloads import EventPayload
from mediation_worker.notifications.fanout import webhook_body
from tests.cases.conftest import CASES, case_body
from tests.contract import served
from tests.support.world import World

AT = datetime(2026, 11, 26, 10, tzinfo=CENTER_TZ)
SENT = sorted(t for t, spec in EVENTS.items() if not spec.internal)


def _validator(event_type: str) -> Any:
    doc = served()
    schema = doc["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
    return jsonschema_rs.Draft202012Validator({**schema["schema"], "components": doc["components"]})


def body_errors(event: OutboxEvent) -> list[str]:
    """What the contract's entry for the event's type finds wrong with the body the worker
    would post for it (none for an internal type: it is never posted)."""
    if event.type not in SENT:
        return []
    body = json.loads(webhook_body(event))
    return [f"{event.type}: {e.message}" for e in _validator(event.type).iter_errors(body)]


def _value(annotation: Any) -> Any:
    """A value of a payload field's type, for types the catalogue has no sample of."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is list:
        return [_value(args[0])]
    if args:  # `X | None`, Annotated[...]
        return _value(args[0])
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation))
    samples = {uuid.UUID: uuid.uuid4(), str: "示例", int: 3, bool: True, datetime: AT}
    return samples.get(annotation, AT.date() if annotation is date else None)


def _payload(event_type: str) -> dict[str, Any]:
    """The type's catalogue sample (or made-up values) through its model, as `emit` writes it."""
    spec = EVENTS[event_type]
    model: type[EventPayload] = spec.model
    values = {
        name: spec.variables[name] if name in spec.variables else _value(field.annotation)
        for name, field in model.model_fields.items()
        if name in spec.variables or field.is_required()
    }
    return model.model_validate(values).dump()


def test_every_event_a_subscription_receives_has_an_entry() -> None:
    doc = served()
    assert set(SENT) == set(doc["webhooks"])
    assert {"case.created", "case.assigned", "session.scheduled"} <= set(doc["webhooks"])
    # Each payload model once in components, referenced: the envelope is not repeated.
    data = {
        h["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["data"][
            "$ref"
        ]
        for h in doc["webhooks"].values()
    }
    assert "#/components/schemas/CaseAssigned" in data and len(data) < len(SENT)
    params = doc["webhooks"]["case.created"]["post"]["parameters"]
    names = [doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]["name"] for p in params]
    assert names == ["webhook-id", "webhook-timestamp", "webhook-signature"]


def test_a_payload_of_every_type_matches_its_entry() -> None:
    errors: list[str] = []
    for event_type in SENT:
        event = OutboxEvent(
            id=uuid.uuid4(),
            type=event_type,
            aggregate_type=EVENTS[event_type].model.aggregate_type,
            aggregate_id=uuid.uuid4(),
            payload=_payload(event_type),
            occurred_at=AT,
        )
        errors += body_errors(event)
    assert not errors, errors


async def test_the_body_the_worker_sends_matches_its_schema(
    client: httpx.AsyncClient, world: World, db: Any
) -> None:
    h = await world.headers("dispatcher")
    assert (await client.post(CASES, headers=h, json=case_body(world))).status_code == 201
    async with db() as session:
        event = (
            await session.execute(select(OutboxEvent).where(OutboxEvent.type == "case.created"))
        ).scalar_one()
    assert not body_errors(event)
    body = json.loads(webhook_body(event))
    assert body["type"] == "case.created" and body["data"]["case_id"]
    # The wrong type for its entry is refused (the `type` is a constant per entry), and so
    # is a payload missing a field its model requires.
    assert not _validator("case.assigned").is_valid(body)
    del body["data"]["case_number"]
    assert not _validator("case.created").is_valid(body)
