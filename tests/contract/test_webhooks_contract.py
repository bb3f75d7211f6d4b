"""The contract's `webhooks` section describes the bodies the worker posts (issue 19,
item 8): one entry per event type a subscription can receive, and a body built by the
worker's own `webhook_body` from a real outbox event validates against its entry."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema_rs
from sqlalchemy import select

from mediation.notifications.catalog import EVENTS
from mediation.outbox.models import OutboxEvent
from mediation_worker.notifications.fanout import webhook_body
from tests.cases.conftest import CASES, case_body
from tests.contract import served
from tests.support.world import World


def _validator(event_type: str) -> Any:
    doc = served()
    schema = doc["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
    return jsonschema_rs.Draft202012Validator({**schema["schema"], "components": doc["components"]})


def test_every_event_a_subscription_receives_has_an_entry() -> None:
    hooks = served()["webhooks"]
    assert {t for t, spec in EVENTS.items() if not spec.internal} == set(hooks)
    assert {"case.created", "case.assigned", "session.scheduled"} <= set(hooks)


async def test_the_body_the_worker_sends_matches_its_schema(
    client: httpx.AsyncClient, world: World, db: Any
) -> None:
    h = await world.headers("dispatcher")
    assert (await client.post(CASES, headers=h, json=case_body(world))).status_code == 201
    async with db() as session:
        event = (
            await session.execute(select(OutboxEvent).where(OutboxEvent.type == "case.created"))
        ).scalar_one()
    body = webhook_body(event)
    errors = [e.message for e in _validator("case.created").iter_errors(json.loads(body))]
    assert not errors, errors
    # The wrong type for its entry is refused (the `type` is a constant per entry).
    assert not _validator("case.assigned").is_valid(json.loads(body))
