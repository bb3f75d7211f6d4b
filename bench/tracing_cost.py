"""What tracing costs (issue 23): when off (the default), and when on.

    .venv/bin/python -m bench.tracing_cost [--requests 3000] [--rounds 5]

Two measurements, in one process, nothing else needed (no database or Redis is touched):

1. Off: tracing adds no middleware and no instrumentation, so what remains on the hot paths
   is a handful of calls; each is timed alone (timeit, best of 7 repeats): the outbox's
   `current_context()` (once per event written), the log formatter's span lookup (once per
   log line), `propagate.inject` into a webhook's headers (once per send), the worker's
   per-job and per-send checks, and the pool-gauge events (twice per checkout).
2. Whole requests through the real app (httpx's ASGI transport, the full middleware stack, a
   route that answers 401 before any I/O), tracing off and on (spans exported over OTLP/HTTP
   to a local sink answering 200), alternated over several rounds: CPU time (the process's,
   exporter thread included) and wall time per request, medians over the rounds."""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import threading
import time
import timeit
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from opentelemetry import propagate

from mediation.clock import SystemClock
from mediation.logs import JsonFormatter
from mediation.settings import Settings
from mediation.tracing import Tracing, current_context, extract


def _best_ns(fn: Callable[[], Any], number: int = 200_000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e9


def micro() -> dict[str, float]:
    record = logging.LogRecord("bench", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    formatter = JsonFormatter()
    off = Tracing()
    headers = {"webhook-id": "msg_1", "content-type": "application/json"}

    def pool_events() -> None:
        from mediation_api.ops.metrics import POOL_IN_USE

        POOL_IN_USE.inc()
        POOL_IN_USE.dec()

    return {
        "current_context() (per event written)": _best_ns(current_context),
        "extract(None) + tracing.on (per job, per send)": _best_ns(lambda: (extract(None), off.on)),
        "propagate.inject(headers) (per webhook/SMS send)": _best_ns(
            lambda: propagate.inject(dict(headers))
        ),
        "dict(headers) alone (subtract from the line above)": _best_ns(lambda: dict(headers)),
        "pool gauges inc+dec (per connection checkout)": _best_ns(pool_events),
        "JsonFormatter.format (a whole log line, for scale)": _best_ns(
            lambda: formatter.format(record), number=50_000
        ),
    }


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def requests_per_mode(settings: Settings, n: int) -> tuple[float, float]:
    """CPU and wall microseconds per request through the whole app."""
    from mediation_api.main import create_app

    app = create_app(settings, SystemClock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(200):  # warm-up
                await client.get("/api/v1/cases")
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(n):
                r = await client.get("/api/v1/cases")
                assert r.status_code == 401
            app.state.tracing.provider and app.state.tracing.provider.force_flush()
            return (
                (time.process_time() - cpu) / n * 1e6,
                (time.perf_counter() - wall) / n * 1e6,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the access log line costs the same either way

    print("## Per call, tracing off (ns, best of 7)")
    for name, ns in micro().items():
        print(f"| {name} | {ns:,.0f} |")

    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    base = Settings(MEDIATION_ENV="test", _env_file=None)
    modes = {
        "off": base,
        "on": base.model_copy(
            update={"otel_exporter_otlp_endpoint": f"http://127.0.0.1:{sink.server_address[1]}"}
        ),
    }
    results: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    for _ in range(args.rounds):
        for mode, settings in modes.items():
            results[mode].append(asyncio.run(requests_per_mode(settings, args.requests)))
    sink.shutdown()
    print(f"\n## Whole requests ({args.requests} x {args.rounds} rounds, median µs per request)")
    print("| tracing | CPU | wall |")
    for mode, runs in results.items():
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        print(f"| {mode} | {cpu:.0f} | {wall:.0f} |")


if __name__ == "__main__":
    main()
