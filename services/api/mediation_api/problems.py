"""Every error leaves the service as RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from mediation.contracts.common import Problem
from mediation.errors import PROBLEM_BASE, DomainError
from mediation.logs import request_id_var
from mediation.unavailable import RETRY_AFTER_SECONDS, database_unavailable

log = logging.getLogger("mediation.api")

PROBLEM_JSON = "application/problem+json"


def problem_response(
    status: int,
    title: str,
    detail: str | None,
    request: Request | None,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_ or (PROBLEM_BASE + HTTPStatus(status).phrase.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path if request is not None else None,
        "request_id": request_id_var.get()
        or (request.scope.get("state", {}).get("request_id") if request is not None else None),
    }
    body.update(
        {
            k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v
            for k, v in extra.items()
            if v is not None
        }
    )
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = exc.extra.pop("headers", None)
    return problem_response(
        exc.status, exc.title, exc.detail, request, exc.type_uri(), headers=headers, **exc.extra
    )


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "Unknown field: not one this operation accepts (misspelt, or read-only)."
    return str(error["msg"])


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _loc(e["loc"]), "message": _message(e)} for e in exc.errors()]
    return problem_response(
        422,
        "Invalid request",
        "The request has invalid fields; see errors.",
        request,
        PROBLEM_BASE + "validation",
        errors=errors,
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if exc.status_code == 404 and detail is None:
        detail = "No resource at this address."
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed here."
    return problem_response(
        exc.status_code, phrase, detail, request, headers=getattr(exc, "headers", None)
    )


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    # A constraint the code did not check first (a race): a conflict, never a 500.
    log.warning("integrity error: %s", exc)
    return problem_response(
        409,
        "Conflict",
        "The change conflicts with existing data.",
        request,
        PROBLEM_BASE + "conflict",
    )


def unavailable(request: Request) -> JSONResponse:
    """No writable database just now (failover, primary down): retry shortly."""
    return problem_response(
        503,
        "Service unavailable",
        "The database is not reachable just now (e.g. a failover in progress); nothing was "
        "changed by this request unless it was answered. Retry after the given seconds.",
        request,
        PROBLEM_BASE + "unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _database(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        log.warning("database unavailable: %s", exc)
        return unavailable(request)
    raise exc  # a real bug: the request middleware logs it and answers 500


def server_error(request: Request) -> JSONResponse:
    """The 500 of an unhandled error (logged once, with the request id, by the request
    middleware, which is where it is caught)."""
    return problem_response(
        500,
        "Internal server error",
        "Something went wrong on our side; quote the request id.",
        request,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(PoolTimeout, _database)


# Errors any route can give, declared centrally so every operation lists them: 401 where a
# token is needed, 429 where a caller is counted (every signed-in call and the token request),
# 400 (unparsable) and 413 (RequestContextMiddleware) where there is a body.
COMMON_ERRORS: dict[str, str] = {
    "400": "The body cannot be parsed: not well-formed JSON (or form data), or not UTF-8.",
    "401": "Not signed in, or the token expired: get a new access token.",
    "413": "The request body is larger than the limit.",
    "429": "Too many requests from this caller: wait `Retry-After` seconds.",
}
RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 1},
}


def declare_common_errors(op: dict[str, Any], rate_limited: bool) -> None:
    """Adds the cross-cutting problem responses to one operation of the OpenAPI document."""
    responses_ = op.setdefault("responses", {})
    wanted = []
    if op.get("security"):
        wanted.append("401")
    if op.get("requestBody"):
        wanted += ["400", "413"]
    if rate_limited:
        wanted.append("429")
    for status in wanted:
        resp = responses_.setdefault(
            status,
            {
                "description": COMMON_ERRORS[status],
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            },
        )
        if status == "429":
            resp.setdefault("headers", {})["Retry-After"] = RETRY_AFTER


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the problem+json schema for each error it can return."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return out
