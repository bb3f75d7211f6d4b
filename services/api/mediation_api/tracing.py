"""The request's span (OpenTelemetry's ASGI middleware, outermost, so the access log line and
everything below it run inside the span). Nothing is added when tracing is off."""

from __future__ import annotations

from fastapi import FastAPI

from mediation.tracing import Tracing

# Probes and scrapes are not traced: they would outnumber the requests that matter.
EXCLUDED = "/healthz,/readyz,/metrics"


def instrument_app(app: FastAPI, tracing: Tracing) -> None:
    if not tracing.on:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.metrics import NoOpMeterProvider

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracing.provider,
        # Request metrics are Prometheus' (middleware.py), not a second set.
        meter_provider=NoOpMeterProvider(),
        excluded_urls=EXCLUDED,
        # One span per request, not one per ASGI message.
        exclude_spans=["receive", "send"],
    )
