"""Every error leaves the service as RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from mediation.contracts.common import Problem
from mediation.errors import (
    CODES,
    DEFAULT_PROBLEM_BASE,
    VALIDATION,
    Conflict,
    DomainError,
    UnsupportedMediaType,
    rule_code,
)
from mediation.logs import request_id_var
from mediation.unavailable import RETRY_AFTER_SECONDS, database_unavailable
from mediation_api import routing

log = logging.getLogger("mediation.api")

PROBLEM_JSON = "application/problem+json"


# Problems the API itself answers (the domain's are declared with their error classes).
MALFORMED_BODY = rule_code("malformed-body", "The body is not well-formed JSON in UTF-8.")
UNAVAILABLE = rule_code("unavailable", "The database is not reachable just now: retry later.")
SERVER_ERROR = rule_code("internal-server-error", "A fault on the server: quote request_id.")
METHOD_NOT_ALLOWED = rule_code(
    "method-not-allowed", "The path does not take this method; `Allow` lists those it takes."
)


def _status_code(status: int) -> str:
    """The code of a problem that names only its status: its error class's, else the
    status's phrase when declared, else the generic code of its class (4xx, 5xx)."""
    for cls in _error_classes(DomainError):
        if cls.__base__ is DomainError and cls.status == status:
            return cls.slug
    phrase = HTTPStatus(status).phrase.lower().replace(" ", "-")
    if phrase in CODES:
        return phrase
    return DomainError.slug if status < 500 else SERVER_ERROR


def _error_classes(cls: type[DomainError]) -> list[type[DomainError]]:
    return [cls, *(c for sub in cls.__subclasses__() for c in _error_classes(sub))]


def problem_response(
    status: int,
    title: str,
    detail: str | None,
    request: Request | None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """`code` (a declared problem code, default the status's) names the problem; its `type`
    is the code under the configured base URI."""
    code = code or _status_code(status)
    base = DEFAULT_PROBLEM_BASE
    if request is not None and "app" in request.scope:
        base = getattr(request.app.state, "problem_base", base)
    body: dict[str, Any] = {
        "type": base + code,
        "code": code,
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
    if _is_oauth(request) and exc.oauth and exc.status in (400, 401, 403, 422):
        # Refused before the token route ran (e.g. NUL in a form field): still RFC 6749.
        code = exc.extra.get("error")
        return oauth_error(code if isinstance(code, str) else "invalid_request", exc.detail)
    headers = exc.extra.pop("headers", None)
    return problem_response(
        exc.status, exc.title, exc.detail, request, exc.code, headers=headers, **exc.extra
    )


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "Unknown field: not one this operation accepts (misspelt, or read-only)."
    return str(error["msg"])


def _expected_media(request: Request) -> str | None:
    """The media type the matched route reads its body as (None: it takes no body)."""
    route = request.scope.get("route")
    body_field = getattr(route, "body_field", None)
    if body_field is None:
        return None
    if isinstance(body_field.field_info, params.File):
        return "multipart/form-data"
    if isinstance(body_field.field_info, params.Form):
        return "application/x-www-form-urlencoded"
    return "application/json"


def malformed_body(request: Request, where: str | None) -> JSONResponse:
    return problem_response(
        400,
        "Malformed body",
        "The body is not well-formed JSON in UTF-8" + (f" ({where})" if where else "") + ".",
        request,
        MALFORMED_BODY,
    )


OAUTH_ROUTE = "auth-token"
OAUTH_REALM = 'Basic realm="mediation", charset="UTF-8"'


def _is_oauth(request: Request) -> bool:
    return getattr(request.scope.get("route"), "operation_id", None) == OAUTH_ROUTE


def oauth_error(error: str, description: str) -> JSONResponse:
    """A token endpoint error as RFC 6749 §5.2 has it: 401 with WWW-Authenticate when the
    client failed to authenticate, else 400."""
    status = 401 if error == "invalid_client" else 400
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = OAUTH_REALM
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _oauth_validation(errors: list[Any]) -> JSONResponse:
    grant = next((e for e in errors if tuple(e["loc"][-1:]) == ("grant_type",)), None)
    if grant is not None and grant["type"] != "missing":
        return oauth_error(
            "unsupported_grant_type", "grant_type is password or client_credentials."
        )
    fields = ", ".join(sorted({str(e["loc"][-1]) for e in errors}))
    return oauth_error("invalid_request", f"The token request is malformed ({fields}).")


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _unreadable_body(request: Request, errors: list[Any]) -> JSONResponse | None:
    """400 for a body that is not well-formed JSON, 415 for a JSON route sent another media
    type: the fault is the envelope, not a field, and the answer says what was expected."""
    position = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if position is not None:
        return malformed_body(request, position.get("ctx", {}).get("error"))
    sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
    expected = _expected_media(request)
    body_errors = any(e["loc"] and e["loc"][0] == "body" for e in errors)
    if expected == "application/json" and sent and not _is_json(sent) and body_errors:
        return problem_response(
            415,
            "Unsupported media type",
            f"The body was sent as {sent}; this operation reads application/json.",
            request,
            UnsupportedMediaType.slug,
            expected_media_type=expected,
        )
    return None


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if _is_oauth(request):
        return _oauth_validation(list(exc.errors()))
    if (unreadable := _unreadable_body(request, list(exc.errors()))) is not None:
        return unreadable
    errors = [{"field": _loc(e["loc"]), "message": _message(e)} for e in exc.errors()]
    return problem_response(
        422,
        "Invalid request",
        "The request has invalid fields; see errors.",
        request,
        VALIDATION,
        errors=errors,
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if exc.status_code == 404 and detail is None:
        detail = "No resource at this address."
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed here."
        # Every method the path takes (Starlette names only the first route it found).
        allowed = routing.allow(request.app, request.scope["path"]) or ""
        headers = {**(headers or {}), "Allow": allowed}
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        # FastAPI's own answer to a body it could not decode (not JSON, not UTF-8).
        return malformed_body(request, None)
    return problem_response(exc.status_code, phrase, detail, request, headers=headers)


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    # A constraint the code did not check first (a race): a conflict, never a 500.
    log.warning("integrity error: %s", exc)
    return problem_response(
        409,
        "Conflict",
        "The change conflicts with existing data.",
        request,
        Conflict.slug,
    )


def unavailable(request: Request) -> JSONResponse:
    """No writable database just now (failover, primary down): retry shortly."""
    return problem_response(
        503,
        "Service unavailable",
        "The database is not reachable just now (e.g. a failover in progress); nothing was "
        "changed by this request unless it was answered. Retry after the given seconds.",
        request,
        UNAVAILABLE,
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
        SERVER_ERROR,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(PoolTimeout, _database)


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
