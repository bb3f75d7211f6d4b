"""The FastAPI application factory and the `mediation-api` entry point."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES

import mediation.audit.chain  # audits every write: hooks on every session
from mediation.auth.policy import Permission
from mediation.auth.tokens import TokenService
from mediation.clock import Clock, SystemClock
from mediation.contracts.common import Problem
from mediation.db import create_engine, session_factory
from mediation.errors import CODES
from mediation.logs import configure_logging
from mediation.redisconn import redis_client
from mediation.settings import Environment, Settings, get_settings
from mediation.tracing import start as start_tracing
from mediation_api import docs, openapi_shared, openapi_webhooks, paramcache, problems
from mediation_api.audit.router import router as audit_router
from mediation_api.auth.account_router import router as account_router
from mediation_api.auth.admin_router import router as admin_router
from mediation_api.auth.router import router as auth_router
from mediation_api.casefiles.contracts import UPLOAD_FORM, UPLOAD_FORM_SCHEMA
from mediation_api.casefiles.router import router as casefiles_router
from mediation_api.cases.calendar_router import router as calendar_router
from mediation_api.cases.router import router as cases_router
from mediation_api.clientip import parse_networks
from mediation_api.dispatch import skip_routers_that_cannot_match
from mediation_api.hardening import SecurityHeadersMiddleware
from mediation_api.hotline.router import router as hotline_router
from mediation_api.imports.router import router as imports_router
from mediation_api.inputs import refuse_bad_input
from mediation_api.middleware import RequestContextMiddleware
from mediation_api.notifications.router import routers as notification_routers
from mediation_api.ops.looplag import watch_loop_lag
from mediation_api.ops.metrics import (
    process_exits,
    release_pool,
    share_metrics_between_processes,
    watch_pool,
)
from mediation_api.ops.router import router as ops_router
from mediation_api.org.contracts import UnitImport
from mediation_api.org.router import router as org_router
from mediation_api.outreach.router import routers as outreach_routers
from mediation_api.pagination import cursor_key
from mediation_api.query import reject_unknown_query
from mediation_api.ratelimit import RateLimiter
from mediation_api.readdb import create_read_pool
from mediation_api.reference.router import router as reference_router
from mediation_api.replicas import CommitPosition, ReplicaSet
from mediation_api.routing import refuse_captured_literal
from mediation_api.sessions.router import routers as session_routers
from mediation_api.state import AppState
from mediation_api.stats.balances_router import router as balances_router
from mediation_api.stats.router import router as stats_router
from mediation_api.tracing import instrument_app

log = logging.getLogger("mediation.api")

API_PREFIX = "/api/v1"

DESCRIPTION = """
Backend of a district dispute-resolution center (综治中心): dispute cases (矛盾纠纷),
mediation sessions (调解会), the psychological hotline (心理热线), outreach and monthly
statistics (月报).

* Times are RFC 3339 with an offset; the center's zone is Asia/Shanghai, and every time in
  every answer (lists, details, timeline details) is given at +08:00. Every date or time you
  enter has a plausible window (`x-window` on the field); outside it is a 422.
* Errors are `application/problem+json` (RFC 9457). A body field or a query parameter the
  operation does not take is a 422 naming it (`body.<field>`, `query.<name>`).
* Lists and timelines use cursor pagination: `limit` and `cursor`, answer
  `{items, next_cursor}`. Timeline entries carry `seq`, their number within the record, and
  are listed by it.
* Changing a resource needs `If-Match` with its current strong ETag (`*` and weak `W/` tags
  are refused with 428). A change that changes nothing answers the record and the ETag you
  had: no new version, no timeline entry, no notification.
"""


def _routers() -> list[APIRouter]:
    # Routes are matched in this order, one by one: the busiest (cases) go first.
    return [
        cases_router,
        auth_router,
        account_router,
        org_router,
        admin_router,
        audit_router,
        reference_router,
        hotline_router,
        calendar_router,
        casefiles_router,
        *session_routers,
        *notification_routers,
        *outreach_routers,
        stats_router,
        balances_router,
        imports_router,
    ]


FILE_TYPES = (
    "application/pdf",
    "application/octet-stream",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-Id",
]
CORS_EXPOSED_HEADERS = [
    "ETag",
    "Location",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "X-Request-Id",
    "Idempotent-Replayed",
    "Content-Disposition",
    "X-Commit-LSN",
]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()
    paramcache.apply()  # FastAPI's per-request parameter bookkeeping, remembered
    mediation.audit.chain.use_profile(settings.crypto_profile)  # SM3 chain when `gm`
    if settings.env is Environment.production and not settings.metrics_token.get_secret_value():
        log.warning("MEDIATION_METRICS_TOKEN is not set: /metrics answers anyone")
    tracing = start_tracing(settings, "mediation-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        reads = await create_read_pool(settings)
        replicas = await ReplicaSet.open(settings, reads)
        # Connects lazily: the API starts and takes writes while Redis is down.
        redis = redis_client(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        pool_max = settings.db_pool_size * 2  # the engine's pool (db.py)
        watch_pool(engine, pool_max)
        tracing.instrument_engine(engine)
        tracing.instrument_redis(redis)
        tracing.instrument_httpx()
        app.state.mediation = AppState(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            reads=reads,
            redis=redis,
            clock=clock,
            tokens=TokenService(
                settings.jwt_keyring(), timedelta(minutes=settings.access_token_minutes)
            ),
            limiter=RateLimiter(redis, settings.arq_queue, settings.rate_limit_per_minute),
            replicas=replicas,
        )
        if app.state.freeze_heap:
            _freeze_heap()
        lag = asyncio.create_task(watch_loop_lag(), name="event-loop-lag")
        try:
            yield
        finally:
            lag.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lag
            if replicas is not None:
                await replicas.close()
            await redis.aclose()
            await reads.close()
            await engine.dispose()
            release_pool(pool_max)
            process_exits()
            tracing.shutdown()

    app = FastAPI(
        title="综治中心 矛盾纠纷排查化解 API",
        contact={"name": "综治中心 platform team", "url": "https://mediation.example.gov.cn/"},
        servers=[
            {
                "url": "/",
                "description": "This deployment, production or staging alike (paths start "
                "with /api/v1): for the center's staff apps and the government systems it "
                "integrates with.",
                "x-internal": True,
            }
        ],
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_tags=TAGS,
        separate_input_output_schemas=False,
        # Before every route's own dependencies: input validation would misread, and query
        # parameters the operation does not take, are a 422.
        dependencies=[Depends(check_request)],
    )
    app.state.freeze_heap = False  # served_app: the served process's own choice
    # The base of problem `type` URIs, read by problems.problem_response.
    app.state.problem_base = settings.problem_base_uri.rstrip("/") + "/"
    problems.install(app)
    if settings.database_replica_urls.strip():
        app.add_middleware(CommitPosition)  # read-your-writes across replicas
    app.add_middleware(
        RequestContextMiddleware,
        # The clock that measures the input's plausible-date windows.
        clock=clock,
        settings=settings,
        max_body_bytes=settings.max_body_bytes,
        cursor_key=cursor_key(settings.secret_key.get_secret_value()),
        trusted_proxies=parse_networks(settings.trusted_proxies),
        path_limits={
            f"{API_PREFIX}/units/import": settings.max_import_bytes,
            f"{API_PREFIX}/imports/": settings.max_import_bytes,
            # Attachment uploads: the file's own limit (checked exactly while streaming) plus
            # room for the multipart framing and form fields.
            f"{API_PREFIX}/uploads/": settings.max_upload_bytes + 64 * 1024,
        },
    )
    # Large answers (lists, CSV exports, the contract) compressed for clients that ask; small
    # ones are not worth it, and files (PDF, Office, uploads) keep their Content-Length.
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1024,
        compresslevel=5,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, *FILE_TYPES),
    )
    if origins := settings.cors_origin_list():
        # Outermost: a preflight is answered before anything counts or checks it, and every
        # answer (errors included) carries the CORS headers a browser needs to read it.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=False,  # bearer tokens, never cookies
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        )
    # Outermost of all: every answer, a CORS preflight and a 500 included, carries them.
    app.add_middleware(
        SecurityHeadersMiddleware, page_csp=docs.install(app), no_store_prefix=API_PREFIX
    )
    app.state.tracing = tracing  # flushed and shut down with the lifespan
    instrument_app(app, tracing)
    app.include_router(ops_router)
    for router in _routers():
        app.include_router(router, prefix=API_PREFIX)
    skip_routers_that_cannot_match(app)
    _finish_openapi(app)
    return app


async def check_request(request: Request) -> None:
    """The application-wide checks as one dependency (each dependency FastAPI resolves costs
    every request), in their order: a literal sub-path captured by a parameter (405), text
    PostgreSQL cannot hold and numbers as dates (422), undeclared query parameters (422)."""
    await refuse_captured_literal(request)
    await refuse_bad_input(request)
    await reject_unknown_query(request)


TAGS: list[dict[str, Any]] = [
    {"name": "operations", "description": "Health, readiness and metrics."},
    {"name": "auth", "description": "Sign-in for staff and other systems."},
    {"name": "jurisdiction", "description": "The jurisdiction tree, people and their roles."},
    {"name": "administration", "description": "Accounts, integration clients, access log."},
    {"name": "reference", "description": "Reference lists (dispute categories...) and labels."},
    {"name": "hotline", "description": "Psychological hotline: call logs, duty roster."},
    {"name": "cases", "description": "Dispute cases (矛盾纠纷): intake, life cycle, deadlines."},
    {"name": "calendar", "description": "Working-day calendar (调休) and deadline rules."},
    {
        "name": "case-files",
        "description": "Case files (卷宗): attachments, signed download links, printable "
        "documents (受理登记表, 调解笔录, 调解协议书, 回访记录, the whole file).",
    },
    {"name": "sessions", "description": "Mediation sessions (调解会), reminders, iCalendar feeds."},
    {"name": "notifications", "description": "The caller's in-app inbox (站内消息)."},
    {
        "name": "webhooks",
        "description": "Standard Webhooks to other systems: subscriptions, deliveries, redelivery.",
    },
    {"name": "notification-config", "description": "Notification rules, templates, event types."},
    {"name": "outreach", "description": "Legal-awareness activities, micro-classes, counts."},
    {"name": "opinions", "description": "Residents' opinions and requests (民意), answers."},
    {"name": "duty-rota", "description": "Duty rota of the grids' self-governance offices."},
    {"name": "statistics", "description": "Monthly statistics (月报), exports, jobs."},
    {
        "name": "imports",
        "description": "Bringing a center's history in from spreadsheets (templates, "
        "validation, commit as jobs).",
    },
]


# What each client-credentials scope allows (the scopes are permissions; staff get theirs
# from their roles).
SCOPES: dict[Permission, str] = {
    Permission.units_read: "Read the jurisdiction tree (units).",
    Permission.cases_read: "Read cases in the client's jurisdiction: status, timeline, parties "
    "(masked).",
    Permission.cases_create: "Register cases (send your own `external_ref`).",
    Permission.sessions_read: "Read mediation sessions.",
    Permission.stats_read: "Read monthly statistics.",
    Permission.outreach_read: "Read outreach activities and classes.",
}


def _permissions(route: APIRoute) -> list[str]:
    """The permissions a route's `require(...)` dependencies demand."""
    found: set[str] = set()
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        permission = getattr(dep.call, "permission", None)
        if permission is not None:
            found.add(permission.value)
        stack.extend(dep.dependencies)
    return sorted(found)


EXTRA_SCHEMAS: list[type[BaseModel]] = [UnitImport]
# Forms read by hand, declared as JSON Schema (one component for the routes that share one).
FORM_SCHEMAS: dict[str, dict[str, Any]] = {UPLOAD_FORM: UPLOAD_FORM_SCHEMA}


def _finish_openapi(app: FastAPI) -> None:
    """Problem schema in components, so every declared error response can point at it; the
    errors every route shares (401, 413, 429); the permission (scope) each operation needs."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, sub in (
            Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            .pop("$defs", {})
            .items()
        ):
            comps.setdefault(name, sub)
        comps.setdefault(
            "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        comps["Problem"].pop("$defs", None)
        # Every code the server can answer, so a generated client has them as constants.
        code = comps["Problem"]["properties"]["code"]
        code["enum"] = sorted(CODES)
        code["description"] += "\n\n" + "\n".join(
            f"- `{c}`: {meaning}" for c, meaning in sorted(CODES.items())
        )
        # Bodies read by hand (JSON or CSV) that routes reference from `openapi_extra`.
        for model in EXTRA_SCHEMAS:
            sub = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, part in sub.pop("$defs", {}).items():
                comps.setdefault(name, part)
            comps.setdefault(model.__name__, sub)
        for name, form in FORM_SCHEMAS.items():
            comps.setdefault(name, form)
        if "FieldError" in comps:
            comps["FieldError"].setdefault("description", "One invalid field of a request.")
        for name, sub in comps.items():
            if name.startswith("Page_") and not sub.get("description"):
                sub["description"] = (
                    f"One page of {name[5:].strip('_')} records: pass `next_cursor` as "
                    "`cursor` for the next page."
                )
        flows = schema["components"].get("securitySchemes", {}).get("oauth2", {}).get("flows", {})
        if "clientCredentials" in flows:
            flows["clientCredentials"]["scopes"] = {p.value: t for p, t in SCOPES.items()}
        if "password" in flows:
            # Staff hold permissions through their roles; every one an operation requires is
            # a scope of the password flow, so each operation's requirement is declared.
            flows["password"]["scopes"] = {
                p.value: SCOPES.get(p, f"The `{p.value}` permission (given by the user's roles).")
                for p in sorted(Permission, key=lambda p: p.value)
            }
        needs = {
            (method.lower(), ctx.path): _permissions(ctx.original_route)
            for ctx in iter_route_contexts(app.routes)
            if isinstance(ctx.original_route, APIRoute)
            for method in ctx.methods or ()
        }
        for path, item in schema.get("paths", {}).items():
            for method, op in item.items():
                if op.get("security") and needs.get((method, path)):
                    op["security"] = [{"oauth2": needs[(method, path)]}]
                elif not op.get("security"):
                    op["security"] = []  # public: said explicitly
                if op.get("operationId") == problems.OAUTH_ROUTE:
                    # RFC 6749: a malformed token request is a 400 `invalid_request`.
                    op["responses"].pop("422", None)
                rate_limited = bool(op.get("security")) or path == f"{API_PREFIX}/auth/token"
                openapi_shared.declare_common_errors(
                    op, rate_limited=rate_limited, database=path.startswith(API_PREFIX)
                )
                if rate_limited:
                    openapi_shared.declare_rate_limit_headers(op)
                openapi_shared.declare_headers(op, comps)
                for status, resp in op.get("responses", {}).items():
                    content = resp.get("content", {})
                    # The token route's 401 is either an RFC 6749 body or a sign-in step's
                    # problem (mfa-required): both stay.
                    if problems.PROBLEM_JSON in content and (
                        op.get("operationId") != problems.OAUTH_ROUTE or status != "401"
                    ):
                        content.pop("application/json", None)
                    if status == "422":
                        resp["content"] = {
                            problems.PROBLEM_JSON: {
                                "schema": {"$ref": "#/components/schemas/Problem"}
                            }
                        }
                        resp["description"] = "Invalid request"
        comps.pop("HTTPValidationError", None)
        comps.pop("ValidationError", None)
        openapi_webhooks.add_webhooks(schema)  # before: its schemas are compacted too
        openapi_shared.share(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def operation_ids(app: FastAPI) -> list[str]:
    return [r.operation_id for r in app.routes if isinstance(r, APIRoute) and r.operation_id]


def served_app() -> FastAPI:
    """The app `mediation-api` serves: create_app, with its heap frozen after startup."""
    app = create_app()
    app.state.freeze_heap = True
    return app


def _freeze_heap() -> None:
    """Move what startup built (modules, routes, schemas, compiled statements: ~340,000
    objects) out of the cyclic collector's sight. A full collection otherwise walks all of
    it, holding every request in flight for tens of milliseconds (bench/gc_pauses.py); after
    this it walks only what requests have made. Not for tests' apps: what is frozen is never
    collected, and a test process builds hundreds of apps."""
    gc.collect()
    gc.freeze()


def run() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    shared = share_metrics_between_processes() if settings.api_workers > 1 else None
    try:
        _serve(settings)
    finally:
        if shared:
            shutil.rmtree(shared, ignore_errors=True)


def _serve(settings: Settings) -> None:
    import uvicorn

    uvicorn.run(
        "mediation_api.main:served_app",
        factory=True,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_config=None,
        # X-Forwarded-For is read by the application, from MEDIATION_TRUSTED_PROXIES only
        # (mediation_api.clientip): one setting for the throttle, the audit trail and logs.
        proxy_headers=False,
        access_log=False,
        # No `server: uvicorn` on answers: versions and products are for no caller to see.
        server_header=False,
        # One process per core: a Python process serves one request's CPU at a time.
        workers=settings.api_workers,
        # A worker imports the whole application before it answers the supervisor's
        # health check; on a busy machine that takes longer than uvicorn's default 5 s.
        timeout_worker_healthcheck=60,
    )


if __name__ == "__main__":
    run()
