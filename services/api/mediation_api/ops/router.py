"""Liveness, readiness and metrics."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from mediation.errors import Unauthorized
from mediation_api.deps import State
from mediation_api.ops.metrics import render
from mediation_api.ops.readiness import readiness_checks
from mediation_api.problems import responses

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """The process answers."""

    status: str = Field(description="Always `ok` when the process is alive.")


class Readiness(BaseModel):
    """Whether the service can do its work, and each dependency's state."""

    status: str = Field(description="`ready` or `not_ready`.")
    checks: dict[str, str] = Field(
        description="`database`, `redis`, `worker`: `ok` or what is wrong."
    )


@router.get(
    "/healthz",
    operation_id="ops-healthz",
    summary="Liveness",
    description="Answers 200 while the process runs; checks nothing else.",
)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="ops-readyz",
    summary="Readiness",
    description="200 when PostgreSQL, Redis and a worker with a fresh heartbeat answer; "
    "503 with the failing checks otherwise.",
    responses={503: {"model": Readiness, "description": "Not ready"}},
)
async def readyz(state: State) -> Any:
    checks = await readiness_checks(state)
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    operation_id="ops-metrics",
    summary="Prometheus metrics",
    description="Request counts by route and status, latency histograms. Only for the "
    "configured scraper: `Authorization: Bearer <MEDIATION_METRICS_TOKEN>` (401 otherwise) "
    "when the token is set.",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **responses(401)},
)
async def metrics(request: Request, state: State) -> Response:
    expected = state.settings.metrics_token.get_secret_value()
    if expected:
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        # Constant time: the comparison tells nothing about how much of a guess was right.
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
            raise Unauthorized(
                "The metrics are for the configured scraper: send its bearer token.",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    return Response(await render(state), media_type=CONTENT_TYPE_LATEST)


__all__ = ["responses", "router"]
