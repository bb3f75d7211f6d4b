"""Wraps each job: request id carried from the event into logs, the trace continued from the
relay (a `trace_context` keyword, W3C traceparent) in a span of the job, outcome counted in
Redis so the API's /metrics can show jobs by name and outcome across all workers."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.trace import SpanKind

from mediation.jobs import duration_bucket, durations_key, metrics_key
from mediation.logs import request_id_var
from mediation.tracing import extract
from mediation_worker.context import wctx

log = logging.getLogger("mediation.worker")

Job = Callable[..., Awaitable[Any]]


def instrumented(func: Job) -> Job:
    @functools.wraps(func)
    async def wrapper(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        rid = kwargs.pop("request_id", None) or ctx.get("job_id")
        parent = extract(kwargs.pop("trace_context", None))
        tracing = getattr(ctx.get("mediation"), "tracing", None)
        span: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if tracing is not None and tracing.on:
            span = tracing.tracer.start_as_current_span(
                f"job {func.__name__}",
                context=parent,
                kind=SpanKind.CONSUMER,
                attributes={"messaging.system": "arq", "messaging.message.id": ctx.get("job_id")},
            )
        with span:
            return await _run(func, ctx, rid, args, kwargs)

    return wrapper


async def _run(
    func: Job, ctx: dict[str, Any], rid: str | None, args: Any, kwargs: dict[str, Any]
) -> Any:
    token = request_id_var.set(rid)
    start = time.perf_counter()
    outcome = "error"
    try:
        result = await func(ctx, *args, **kwargs)
        outcome = "success"
        return result
    finally:
        elapsed = round((time.perf_counter() - start) * 1000, 2)
        log.info(
            "job %s %s",
            func.__name__,
            outcome,
            extra={"ctx_job": func.__name__, "ctx_outcome": outcome, "ctx_ms": elapsed},
        )
        try:  # one round trip: the outcome and the duration
            queue = wctx(ctx).settings.arq_queue
            seconds = time.perf_counter() - start
            pipe = wctx(ctx).redis.pipeline(transaction=False)
            pipe.hincrby(metrics_key(queue), f"{func.__name__}|{outcome}", 1)
            pipe.hincrby(durations_key(queue), f"{func.__name__}|{duration_bucket(seconds)}", 1)
            pipe.hincrbyfloat(durations_key(queue), f"{func.__name__}|sum", seconds)
            await pipe.execute()
        except Exception:  # metrics must never fail a job
            log.warning("could not record job metrics", exc_info=True)
        request_id_var.reset(token)
