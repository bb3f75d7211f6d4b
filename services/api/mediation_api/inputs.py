"""Input that validation would store wrongly or misread, refused once for every route before
its own dependencies run (an application-wide dependency), with a 422 naming the field:

* text PostgreSQL cannot hold: the NUL character (U+0000, `character_not_in_repertoire`) and,
  in JSON, an unpaired surrogate escape ("\\ud800", no character, not encodable as UTF-8),
  on the ORM's connections and on the read pool alike: in the path, every query parameter,
  JSON, form and text bodies (multipart fields: `casefiles/upload.py`; query strings cannot
  carry a surrogate, they are decoded as UTF-8 with replacement);
* a number where a date or a time is expected: pydantic reads `3e-100` or `1700000000` as a
  Unix time, so a filter `held_to=3e-100` meant 1 January 1970. Dates are written
  `YYYY-MM-DD`, times as RFC 3339, in query parameters and JSON bodies alike;
* in JSON, a boolean or a number of another JSON type: pydantic reads `false` as the number
  0 (`view_order: false`), `"5"` as 5 and `"yes"` or 1 as true;
* a filter window (`received_from`/`received_to`...) that ends before it starts."""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel

from mediation.errors import VALIDATION, Unprocessable
from mediation_api.query import WINDOW_INVALID, WINDOWS

DETAIL = (
    "Text must not contain the NUL character (\\u0000) or an unpaired surrogate (\\ud800-\\udfff)."
)
# A JSON string escape of NUL or of a surrogate after an even number of backslashes.
_JSON_SUSPECT = re.compile(rb"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F])")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_WRITTEN = {
    "date": "a date is written YYYY-MM-DD, e.g. 2026-11-26",
    "date-time": "a time is written as RFC 3339, e.g. 2026-11-26T10:00:00+08:00",
}
_TEMPORAL_NAMES = {
    "AwareDatetime": "date-time",
    "NaiveDatetime": "date-time",
    "PastDatetime": "date-time",
    "FutureDatetime": "date-time",
    "PastDate": "date",
    "FutureDate": "date",
}


# bool before int: a bool is an int to Python.
_SCALARS: dict[str, type | tuple[type, ...]] = {
    "boolean": bool,
    "integer": int,
    "number": float,
}
_A = {"boolean": "a boolean", "integer": "an integer", "number": "a number"}


def _is_json(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":  # 5.0 is an integer to JSON Schema
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, int | float)


def refuse(field: str) -> Unprocessable:
    return Unprocessable(DETAIL, field=field, code=VALIDATION)


def bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate
        return True
    return False


def _in_json(value: Any, path: str) -> str | None:
    """The dotted path of the first string (or key) PostgreSQL cannot hold."""
    if isinstance(value, str):
        return path if bad_text(value) else None
    if not isinstance(value, dict | list):
        return None
    items: Any = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if bad_text(str(key)):
            return f"{path}.{key}"
        found = _in_json(item, f"{path}.{key}")
        if found:
            return found
    return None


def _query_field(encoded: bytes) -> str:
    """`query.q` for `q=a%00b`: the first parameter holding a NUL."""
    pairs = parse_qsl(encoded.decode("latin-1"), keep_blank_values=True)
    name = next((k for k, v in pairs if "\x00" in k + v), None)
    return f"query.{name}" if name else "query"


async def _refuse_bad_text(request: Request, ctype: str) -> None:
    if "\x00" in request.url.path:
        raise refuse("path")
    query = request.scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        raise refuse(_query_field(query))
    if not ctype:
        return
    if ctype.startswith("application/x-www-form-urlencoded"):
        # FastAPI parsed it already for a form route (cached); reading the raw body now
        # would find the stream consumed.
        form = await request.form()
        name = next((k for k, v in form.multi_items() if bad_text(f"{k}{v}")), None)
        if name is not None:
            raise refuse(f"body.{name}")
        return
    raw = await request.body()  # cached: the route reads the same bytes
    if "json" in ctype:
        if _JSON_SUSPECT.search(raw) is None:
            return
        try:
            found = _in_json(json.loads(raw), "body")
        except ValueError:  # not JSON after all: the route's own parsing says so
            return
        if found is not None:  # (else a paired surrogate escape: an emoji)
            raise refuse(found)
        return
    if b"\x00" in raw:
        raise refuse("body")


# --- dates and times ---------------------------------------------------------------------
def _kind(annotation: Any, of_class: Callable[[type], str | None]) -> str | None:
    """What `of_class` says of the annotation's class, seen through `Annotated` and through an
    optional or a union whose members all say the same; None otherwise."""
    if isinstance(annotation, type):
        return of_class(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return _kind(typing.get_args(annotation)[0], of_class)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = {_kind(a, of_class) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    return None


def _temporal_class(cls: type) -> str | None:
    if issubclass(cls, datetime):
        return "date-time"
    if issubclass(cls, date):
        return "date"
    return _TEMPORAL_NAMES.get(cls.__name__)


def _scalar_class(cls: type) -> str | None:
    if issubclass(cls, Enum):
        return None
    for kind, types_ in _SCALARS.items():
        if issubclass(cls, types_):
            return kind
    return None


def _temporal(annotation: Any) -> str | None:
    """ "date" or "date-time" when the annotation (optional or not) is one."""
    return _kind(annotation, _temporal_class)


def _scalar(annotation: Any) -> str | None:
    """ "boolean", "integer" or "number" when the annotation (optional or not) is one."""
    return _kind(annotation, _scalar_class)


# annotation's id -> (annotation, temporal kind, scalar kind, origin, args but None): the
# body models' annotations are few and long-lived, and working these out was most of the walk's
# time on every request (issue 22). The entry holds the annotation, so its id stays its own.
_PLANS: dict[int, tuple[Any, str | None, str | None, Any, list[Any]]] = {}


def _plan(annotation: Any) -> tuple[Any, str | None, str | None, Any, list[Any]]:
    plan = _PLANS.get(id(annotation))
    if plan is None or plan[0] is not annotation:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        plan = (
            annotation,
            _temporal(annotation),
            _scalar(annotation),
            typing.get_origin(annotation),
            args,
        )
        _PLANS[id(annotation)] = plan
    return plan


def _check_json(value: Any, annotation: Any, path: str) -> None:
    """Walks a JSON value along the model it is validated as: dates and times are written
    out, and a boolean or a number is sent as one (pydantic would read `false` as the number
    0, `"5"` as 5 and `"yes"` or 1 as true)."""
    _, kind, scalar, origin, args = _plan(annotation)
    if kind is not None:
        if value is not None and not (isinstance(value, str) and _ISO.match(value)):
            raise Unprocessable(f"Not a {kind}: {_WRITTEN[kind]}.", field=path, code=VALIDATION)
        return
    if scalar is not None:
        if value is not None and not _is_json(scalar, value):
            raise Unprocessable(
                f"Not {_A[scalar]}: send a JSON {scalar}.", field=path, code=VALIDATION
            )
        return
    if origin is typing.Annotated or (origin in (typing.Union, types.UnionType) and len(args) == 1):
        _check_json(value, args[0], path)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(value, dict):
            for name, info in annotation.model_fields.items():
                key = info.alias or name
                if key in value:
                    _check_json(value[key], info.annotation, f"{path}.{key}")
    elif origin in (list, tuple, set, frozenset) and args and isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, args[0], f"{path}.{i}")
    elif origin is dict and len(args) == 2 and isinstance(value, dict):
        for key, item in value.items():
            _check_json(item, args[1], f"{path}.{key}")


def _temporal_queries(route: APIRoute) -> dict[str, str]:
    """The route's query parameters that are dates or times: alias → kind (worked out once
    per route, kept on it)."""
    found: dict[str, str] | None = getattr(route, "_temporal_queries", None)
    if found is None:
        found = {}
        stack = [route.dependant]
        while stack:  # the route's own parameters and its dependencies'
            dependant = stack.pop()
            stack.extend(dependant.dependencies)
            for param in dependant.query_params:
                kind = _temporal(param.field_info.annotation)
                if kind is not None:
                    found[param.alias] = kind
        route._temporal_queries = found  # type: ignore[attr-defined]
    return found


def _moment(kind: str, value: str) -> date | None:
    """The value as the route will read it, or None when it will refuse it itself."""
    try:
        if kind == "date":
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _refuse_inverted_windows(queries: dict[str, str], params: Any) -> None:
    """A filter window that ends before it starts selects nothing, and an empty page would
    look like a filtered one: refused on every route, as the sessions list and the roster's
    gaps always did. Days count both ends (one day is a window); times end before `to`."""
    for start, end in WINDOWS:
        if start not in params or end not in params or start not in queries:
            continue
        kind = queries[start]
        first, last = _moment(kind, params[start]), _moment(kind, params[end])
        if first is None or last is None or type(first) is not type(last):
            continue
        if last < first if kind == "date" else last <= first:
            raise Unprocessable(
                f"`{end}` must {'not be before' if kind == 'date' else 'be after'} `{start}`.",
                field=f"query.{end}",
                code=WINDOW_INVALID,
            )


async def _refuse_numbers_as_dates(request: Request, ctype: str) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    queries = _temporal_queries(route)
    for name in queries.keys() & request.query_params.keys():
        for value in request.query_params.getlist(name):
            if not _ISO.match(value):
                kind = queries[name]
                raise Unprocessable(
                    f"Not a {kind}: {_WRITTEN[kind]}.", field=f"query.{name}", code=VALIDATION
                )
    if queries:
        _refuse_inverted_windows(queries, request.query_params)
    if route.body_field is not None and "json" in ctype:
        try:
            body = await request.json()  # cached: FastAPI parsed it for the route
        except ValueError:  # the route's own parsing says what is wrong
            return
        _check_json(body, route.body_field.field_info.annotation, "body")


_BINARY = (
    "multipart/",
    "application/vnd.openxmlformats",
    "application/vnd.ms-excel",
    "application/octet-stream",
)


async def refuse_bad_input(request: Request) -> None:
    """The application-wide dependency."""
    ctype = request.headers.get("content-type", "").lower()
    has_body = (
        request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    )
    if ctype.startswith(_BINARY) or not has_body:
        # No text body to look at (multipart: read by the upload route as it streams; a
        # workbook is binary, its cells are checked by the import's validation).
        ctype = ""
    await _refuse_bad_text(request, ctype)
    await _refuse_numbers_as_dates(request, ctype)
