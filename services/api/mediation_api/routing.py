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


_SEGMENT = re.compile(r"\{[^}]*\}")


def _could_capture(template: str, route_path: str) -> bool:
    """Whether a path of `route_path` can also be one of `template` (segment by segment: a
    parameter of the route may be the template's literal; a `:path` parameter spans)."""
    if ":path}" in template or ":path}" in route_path:
        return True
    ours, theirs = route_path.split("/"), template.split("/")
    return len(ours) == len(theirs) and all(
        a == b or _SEGMENT.fullmatch(a) is not None or _SEGMENT.fullmatch(b) is not None
        for a, b in zip(ours, theirs, strict=True)
    )


def _rivals(app: FastAPI, full_path: str) -> list[Template]:
    """The templates with fewer parameters than `full_path` that could own one of its paths
    (worked out once per route): only they are matched per request."""
    cache: dict[str, list[Template]] | None = getattr(app.state, "route_rivals", None)
    if cache is None:
        cache = app.state.route_rivals = {}
    found = cache.get(full_path)
    if found is None:
        params = full_path.count("{")
        found = [
            t for t in templates(app) if t.params < params and _could_capture(t.path, full_path)
        ]
        cache[full_path] = found
    return found


async def refuse_captured_literal(request: Request) -> None:
    """Application-wide dependency: a request for a literal sub-path that reached a route
    with a path parameter (the literal route does not take its method) is a 405. The path
    is matched against the few templates that could own it, not every route's."""
    route_path = getattr(request.scope.get("route"), "path_format", None)
    if not route_path or "{" not in route_path:
        return
    path: str = request.scope["path"]
    # The route's template is relative to the routers' prefixes: put the path's prefix back.
    prefix = path.split("/")[: path.count("/") - route_path.count("/") + 1]
    full = "/".join(prefix) + route_path
    if any(t.regex.match(path) for t in _rivals(request.app, full)):
        raise HTTPException(405, headers={"Allow": allow(request.app, path) or ""})
