"""Which routes answer a path: the `Allow` header of a 405 (every method the path takes, not
just those of the first route found), and literal sub-paths (`/units/import`) that a
`/units/{unit_id}` route must never capture: `PATCH /units/import` is a 405, not a unit id
that fails validation. Worked out from the app's routes, so routes added later follow."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import compile_path


@dataclass(frozen=True)
class Template:
    path: str
    regex: re.Pattern[str]
    params: int
    methods: frozenset[str]


def templates(app: FastAPI) -> list[Template]:
    found: list[Template] | None = getattr(app.state, "route_templates", None)
    if found is None:
        by_path: dict[str, set[str]] = {}
        for ctx in iter_route_contexts(app.routes):
            if ctx.methods:
                by_path.setdefault(ctx.path, set()).update(ctx.methods)
        found = [
            Template(path, compile_path(path)[0], path.count("{"), frozenset(methods))
            for path, methods in by_path.items()
        ]
        app.state.route_templates = found
    return found


def answering(app: FastAPI, path: str) -> list[Template]:
    """The templates that own `path`: of those matching it, the most literal ones."""
    matching = [t for t in templates(app) if t.regex.match(path)]
    if not matching:
        return []
    fewest = min(t.params for t in matching)
    return [t for t in matching if t.params == fewest]


def allow(app: FastAPI, path: str) -> str | None:
    methods = sorted({m for t in answering(app, path) for m in t.methods})
    return ", ".join(methods) or None


async def refuse_captured_literal(request: Request) -> None:
    """Application-wide dependency: a request for a literal sub-path that reached a route
    with a path parameter (the literal route does not take its method) is a 405."""
    route_path = getattr(request.scope.get("route"), "path_format", None)
    if not route_path or "{" not in route_path:
        return
    owners = answering(request.app, request.scope["path"])
    if owners and all(t.params < route_path.count("{") for t in owners):
        raise HTTPException(405, headers={"Allow": allow(request.app, request.scope["path"]) or ""})
