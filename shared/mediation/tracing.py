"""OpenTelemetry tracing for both services: off unless the standard variables ask for it.

On when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set or
`OTEL_TRACES_EXPORTER=otlp`; off again with `OTEL_TRACES_EXPORTER=none` or
`OTEL_SDK_DISABLED=true`. Spans go over OTLP/HTTP (protobuf). When off, every tracer is the
API's no-op tracer and the SDK is not even imported.

Each service keeps its own provider (`Tracing`), not the process-global one: the instruments
are given it explicitly, so an API and a worker in one process (the tests) each shut theirs.

The trace context crosses the outbox as W3C `traceparent`/`tracestate` (a JSON object on the
row): `current_context()` when writing, `extract()` when continuing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import NoOpTracer, Tracer

from mediation.settings import Settings

log = logging.getLogger("mediation.tracing")

DEFAULT_ENDPOINT = "http://localhost:4318"


def enabled(settings: Settings) -> bool:
    if settings.otel_sdk_disabled:
        return False
    exporter = settings.otel_traces_exporter.strip().lower()
    if exporter == "none":
        return False
    return bool(
        exporter == "otlp"
        or settings.otel_exporter_otlp_endpoint
        or settings.otel_exporter_otlp_traces_endpoint
    )


def traces_endpoint(settings: Settings) -> str:
    """The signal's own endpoint as given, else `<endpoint>/v1/traces` (OTLP/HTTP rule)."""
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint
    base = settings.otel_exporter_otlp_endpoint or DEFAULT_ENDPOINT
    return base.rstrip("/") + "/v1/traces"


@dataclass
class Tracing:
    """One service's tracer; `provider` is None when tracing is off."""

    tracer: Tracer = field(default_factory=NoOpTracer)
    provider: Any = None

    @property
    def on(self) -> bool:
        return self.provider is not None

    def instrument_engine(self, engine: Any) -> None:
        """A span per SQL statement of this engine (SQLAlchemy's cursor events)."""
        if not self.on:
            return
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
        from opentelemetry.metrics import NoOpMeterProvider

        usage = NoOpMeterProvider().get_meter("mediation").create_up_down_counter("unused")
        EngineTracer(self.tracer, engine.sync_engine, usage)

    def instrument_redis(self, client: Any) -> None:
        if not self.on:
            return
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor.instrument_client(client, tracer_provider=self.provider)

    def instrument_httpx(self) -> None:
        """Every httpx client of the process (a class-level patch, so counted: the last
        service to shut down removes it)."""
        global _httpx_users
        if not self.on:
            return
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        if _httpx_users == 0:
            HTTPXClientInstrumentor().instrument(tracer_provider=self.provider)
        _httpx_users += 1
        self._httpx = True

    def shutdown(self) -> None:
        """Sends what is buffered, then stops the exporter."""
        global _httpx_users
        if self.provider is None:
            return
        if getattr(self, "_httpx", False):
            self._httpx = False
            _httpx_users -= 1
            if _httpx_users == 0:
                from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

                HTTPXClientInstrumentor().uninstrument()
        self.provider.shutdown()


_httpx_users = 0


def start(settings: Settings, service: str) -> Tracing:
    """The service's tracing as the settings say (off: a no-op tracer, nothing imported)."""
    if not enabled(settings):
        return Tracing()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create also reads OTEL_RESOURCE_ATTRIBUTES; the sampler comes from
    # OTEL_TRACES_SAMPLER (default: parent-based, always on).
    resource = Resource.create({"service.name": settings.otel_service_name or service})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_endpoint(settings)))
    )
    log.info("tracing on: spans to %s", traces_endpoint(settings))
    return Tracing(provider.get_tracer("mediation"), provider)


def current_context() -> dict[str, str] | None:
    """The active span's W3C trace context (`traceparent`, `tracestate`), or None when no
    span is active (tracing off): what an outbox row or a delivery carries forward."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


def extract(carrier: dict[str, str] | str | None) -> Context | None:
    """The context stored by `current_context()` (JSONB may arrive as text), or None."""
    if isinstance(carrier, str):
        import json

        try:
            carrier = json.loads(carrier)
        except ValueError:
            carrier = None
    if not carrier or not isinstance(carrier, dict):
        return None  # nothing usable: the work starts a trace of its own, never fails
    return propagate.extract(carrier)
