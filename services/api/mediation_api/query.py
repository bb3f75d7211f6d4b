"""Query strings: a parameter the operation does not declare is refused with 422 naming it.
Ignoring it would answer a misspelt filter (`?stauts=closed`) with the unfiltered list, which
looks like a filtered one. Written once, as an app-wide dependency that compares the request's
keys with the parameters the matched route (and its dependencies) declare."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel

from mediation.errors import VALIDATION, Unprocessable, rule_code

# Values one query parameter may repeat (`?status=a&status=b`); the contract says so as the
# `maxItems` of every list parameter (openapi_shared.py).
MAX_REPEATED = 50
WINDOW_INVALID = rule_code(
    "window-invalid",
    "A query's window (of dates or times) ends before it starts or spans more than allowed.",
)
# The query parameters that bound one filter window, (start, end), on every route that takes
# both as dates or times: an end before the start is refused (mediation_api.inputs).
WINDOWS: tuple[tuple[str, str], ...] = (
    ("received_from", "received_to"),
    ("closed_from", "closed_to"),
    ("started_from", "started_before"),
    ("starts_from", "starts_to"),
    ("collected_from", "collected_to"),
    ("held_from", "held_to"),
    ("date_from", "date_to"),
    ("since", "until"),
    ("from", "to"),
)

# By route identity: the routes are the routers' own, built once at import and never freed.
_DECLARED: dict[int, frozenset[str]] = {}


def _names(dependant: Dependant, into: set[str]) -> set[str]:
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):  # a query model
            into.update(f.alias or name for name, f in model.model_fields.items())
        else:
            into.add(param.alias)
    for sub in dependant.dependencies:
        _names(sub, into)
    return into


def declared(route: Any) -> frozenset[str]:
    """The query parameter names `route` takes (computed once per route)."""
    names = _DECLARED.get(id(route))
    if names is None:
        names = frozenset(_names(route.dependant, set()))
        _DECLARED[id(route)] = names
    return names


async def reject_unknown_query(request: Request) -> None:
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    if route is None or not getattr(route, "include_in_schema", False):
        return
    allowed = declared(route)
    unknown = sorted(set(request.query_params.keys()) - allowed)
    if not unknown:
        for name in request.query_params:
            if len(request.query_params.getlist(name)) > MAX_REPEATED:
                raise Unprocessable(
                    f"`{name}` is repeated more than {MAX_REPEATED} times.",
                    field=f"query.{name}",
                    code=VALIDATION,
                )
        return
    takes = ", ".join(f"`{n}`" for n in sorted(allowed)) or "none"
    raise Unprocessable(
        f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: "
        + ", ".join(f"`{n}`" for n in unknown)
        + f". This operation takes: {takes}.",
        errors=[
            {"field": f"query.{n}", "message": "Unknown query parameter (misspelt?)."}
            for n in unknown
        ],
        code=VALIDATION,
    )
