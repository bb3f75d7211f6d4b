"""Tracing (issue 23): one trace from the API request through the outbox, the relay, the arq
job and the fan-out to the webhook delivery, exported over OTLP/HTTP to a local receiver; the
webhook carries `traceparent`; nothing of it when tracing is off."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider

from mediation.logs import JsonFormatter
from mediation.settings import Settings
from tests.notifications.peers import HttpPeer
from tests.notifications.test_webhooks import REF, subscribe
from tests.support.otlp import OtlpReceiver
from tests.support.world import World

SERVER, PRODUCER, CONSUMER, CLIENT = 2, 4, 5, 3  # OTLP span kinds


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Tracing on (the standard endpoint variable) for tests that ask for the receiver."""
    if "otlp" not in request.fixturenames:
        return settings
    receiver: OtlpReceiver = request.getfixturevalue("otlp")
    return settings.model_copy(update={"otel_exporter_otlp_endpoint": receiver.endpoint})


async def test_one_trace_spans_request_outbox_job_and_webhook_delivery(
    otlp: OtlpReceiver,
    client: httpx.AsyncClient,
    app: Any,
    world: World,
    run_worker: Any,
    http_peer: HttpPeer,
    sql: Any,
) -> None:
    await subscribe(client, world, http_peer.url("/hooks/traced"))
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    r = await client.post(
        REF,
        headers={
            **await world.headers("system_admin"),
            "traceparent": f"00-{trace_id}-{caller_span}-01",
        },
        json={"code": "traced", "label_zh": "教育", "label_en": "Education"},
    )
    assert r.status_code == 201, r.text
    # The event row carries the request's trace.
    [(stored,)] = await sql(
        "SELECT trace_context FROM outbox_events WHERE type = 'reference.item_created'"
    )
    assert stored["traceparent"].split("-")[1] == trace_id

    await run_worker()
    await run_worker()
    app.state.tracing.provider.force_flush()  # the worker's flushed when it stopped

    [hook] = http_peer.at("/hooks/traced")
    version, hook_trace, hook_parent, _ = hook.headers["traceparent"].split("-")
    assert (version, hook_trace) == ("00", trace_id)

    spans = otlp.trace(trace_id)
    by_id = {s.span_id: s for s in spans}

    def parent(span: Any) -> Any:
        return by_id.get(span.parent_span_id)

    [request] = [s for s in spans if s.kind == SERVER]
    assert request.service == "mediation-api"
    assert request.parent_span_id == caller_span  # continues the caller's trace
    assert request.attributes.get("http.route") == "/api/v1/reference/{kind}"
    [relay] = [s for s in spans if s.name == "outbox relay"]
    assert (relay.service, relay.kind) == ("mediation-worker", PRODUCER)
    # The relay's parent is a span of the request (the request's own or one of its queries).
    up, seen = parent(relay), set()
    while up is not None and up.span_id not in seen and up is not request:
        seen.add(up.span_id)
        up = parent(up)
    assert up is request
    [job] = [s for s in spans if s.name == "job process_event"]
    assert (parent(job), job.kind) == (relay, CONSUMER)
    [fan] = [s for s in spans if s.name == "fan-out"]
    assert parent(fan) == job
    [send] = [s for s in spans if s.name == "send webhook"]
    assert (parent(send), send.kind) == (fan, CLIENT)
    assert send.attributes["delivery.result"] == "delivered"
    assert send.attributes["http.response.status_code"] == 200
    # The receiver got the send span's context: its own spans would hang under the try.
    assert hook_parent == send.span_id
    # The database work of request and job is in the same trace.
    assert {s.service for s in spans if s.attributes.get("db.system") == "postgresql"} >= {
        "mediation-api",
        "mediation-worker",
    }


async def test_tracing_off_stores_no_context_and_sends_no_traceparent(
    client: httpx.AsyncClient, world: World, run_worker: Any, http_peer: HttpPeer, sql: Any
) -> None:
    await subscribe(client, world, http_peer.url("/hooks/plain"))
    trace_id = secrets.token_hex(16)
    r = await client.post(
        REF,
        headers={
            **await world.headers("system_admin"),
            "traceparent": f"00-{trace_id}-{'1' * 16}-01",
        },
        json={"code": "plain", "label_zh": "教育", "label_en": "Education"},
    )
    assert r.status_code == 201, r.text
    await run_worker()
    await run_worker()
    [hook] = http_peer.at("/hooks/plain")
    assert "traceparent" not in hook.headers
    assert await sql("SELECT 1 FROM outbox_events WHERE trace_context IS NOT NULL") == []
    assert await sql("SELECT 1 FROM deliveries WHERE trace_context IS NOT NULL") == []


def test_log_lines_carry_trace_and_span_ids_while_a_span_is_active() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None)
    assert "trace_id" not in formatter.format(record)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        line = formatter.format(record)
    ctx = span.get_span_context()
    assert f'"trace_id": "{ctx.trace_id:032x}"' in line
    assert f'"span_id": "{ctx.span_id:016x}"' in line


def test_a_stored_context_that_is_unusable_starts_afresh() -> None:
    from mediation.tracing import extract

    for stored in (None, "", "null", "not json", "[]", {}):
        assert extract(stored) is None  # type: ignore[arg-type]
    ctx = extract('{"traceparent": "00-' + "ab" * 16 + "-" + "cd" * 8 + '-01"}')
    assert ctx is not None
