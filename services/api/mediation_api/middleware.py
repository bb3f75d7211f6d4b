"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware): request id, body size limit, the
list cursors' signing scope, unhandled errors (one ERROR line, a 500 problem), Prometheus
metrics and one JSON access-log line per request; the clock of date windows."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mediation.audit.context import client_ip_var
from mediation.clock import Clock
from mediation.contracts.windows import measured_by
from mediation.errors import PayloadTooLarge
from mediation.logs import request_id_var
from mediation.settings import Settings
from mediation.unavailable import database_unavailable
from mediation_api.clientip import Network, client_ip
from mediation_api.pagination import CursorScope, cursor_scope
from mediation_api.problems import problem_response, server_error, unavailable
from mediation_api.ratelimit import Quota, quota_holder

log = logging.getLogger("mediation.api.access")
errors = logging.getLogger("mediation.api")

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# The metric series of each (method, route template, status) seen, so a request looks them
# up once instead of through `labels()` (label checks and a lock, twice per request).
_SERIES: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_SERIES_MAX = 2000  # methods come from callers: past this, `labels()` each time


def _series(method: str, template: str, status: str) -> tuple[Any, Any]:
    key = (method, template, status)
    found = _SERIES.get(key)
    if found is None:
        found = (REQUESTS.labels(*key), LATENCY.labels(*key))
        if len(_SERIES) < _SERIES_MAX:
            _SERIES[key] = found
    return found


class RequestContextMiddleware:
    """Also measures the plausible-date windows of the request's input (`mediation.contracts.
    windows`) with the service's clock when given one, so a moved clock moves them too (here,
    not in a middleware of its own: each ASGI layer costs every request)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        cursor_key: bytes,
        path_limits: dict[str, int] | None = None,
        trusted_proxies: tuple[Network, ...] = (),
        clock: Clock | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.app = app
        self.clock = clock
        self.settings = settings
        self.trusted_proxies = trusted_proxies
        self.max_body_bytes = max_body_bytes
        self.cursor_key = cursor_key
        # Routes that take large bodies (imports, uploads) by path prefix.
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _RID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        peer = scope["client"][0] if scope.get("client") else None
        forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
        ip_token = client_ip_var.set(client_ip(peer, forwarded, self.trusted_proxies))
        # Cursors are signed for the list (path) that issues them.
        cursor_token = cursor_scope.set(CursorScope(self.cursor_key, scope["path"]))
        # Also on the scope, for whatever reads it outside this context.
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status = 500
        limit = next(
            (v for p, v in self.path_limits.items() if scope["path"].startswith(p)),
            self.max_body_bytes,
        )

        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            response = problem_response(
                413,
                PayloadTooLarge.title,
                f"The body exceeds {limit} bytes.",
                Request(scope),
                PayloadTooLarge.slug,
                headers={"x-request-id": rid},
            )
            await response(scope, receive, send)
            self._observe(scope, 413, start)
            request_id_var.reset(token)
            client_ip_var.reset(ip_token)
            cursor_scope.reset(cursor_token)
            return

        received = 0
        quotas: list[Quota] = []
        quota_token = quota_holder.set(quotas)

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
            return message

        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                extra = [(b"x-request-id", rid.encode())]
                if quotas:  # the caller was counted: announce what is left
                    present = {k.lower() for k, _ in message["headers"]}
                    extra += [
                        (k.lower().encode(), v.encode())
                        for k, v in quotas[-1].headers().items()
                        if k.lower().encode() not in present
                    ]
                message["headers"] = [*message["headers"], *extra]
            await send(message)

        try:
            if self.clock is not None and self.settings is not None:
                with measured_by(self.clock, self.settings):
                    await self.app(scope, limited_receive, send_wrapper)
            else:
                await self.app(scope, limited_receive, send_wrapper)
        except Exception as error:
            if database_unavailable(error):  # raised outside a route (or by asyncpg itself)
                errors.warning(
                    "database unavailable on %s %s: %s", scope["method"], scope["path"], error
                )
                if not started:
                    await unavailable(Request(scope))(scope, receive, send_wrapper)
                return
            # Caught here, inside the request's context: one ERROR line with its request id
            # (the 500 body asks callers to quote it), and nothing re-raised for the server to
            # log a second time.
            errors.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                await server_error(Request(scope))(scope, receive, send_wrapper)
        finally:
            self._observe(scope, status, start)
            quota_holder.reset(quota_token)
            request_id_var.reset(token)
            client_ip_var.reset(ip_token)
            cursor_scope.reset(cursor_token)

    @staticmethod
    def _observe(scope: Scope, status: int, start: float) -> None:
        elapsed = time.perf_counter() - start
        route: Any = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        requests, latency = _series(scope["method"], template, str(status))
        requests.inc()
        latency.observe(elapsed)
        log.info(
            "%s %s %s",
            scope["method"],
            scope["path"],
            status,
            extra={"ctx_status": status, "ctx_ms": round(elapsed * 1000, 2), "ctx_route": template},
        )
