"""The write routes' dependencies (issue 22 item 1): FastAPI solves every node of a route's
dependency tree on every request, a cached one too, so a write route solves each dependency
once; and the idempotency guard, which takes the caller `get_principal` found, is only
registered behind a dependency that signs the caller in."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute, iter_route_contexts

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation_api.actions import action_route, context_action
from mediation_api.deps import Session, require
from mediation_api.main import create_app

WRITES = {
    "cases-create": Permission.cases_create,
    "cases-assign": Permission.cases_read,
    "sessions-record-outcome": Permission.sessions_write,
}


def _tree(dependant: Any) -> list[Any]:
    calls = [dependant.call]
    for sub in dependant.dependencies:
        calls += _tree(sub)
    return calls


def _routes() -> dict[str, APIRoute]:
    app = create_app()
    found = {}
    for context in iter_route_contexts(app.router.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.operation_id in WRITES:
            found[route.operation_id] = route
    return found


def test_write_routes_solve_each_dependency_once() -> None:
    routes = _routes()
    assert routes.keys() == WRITES.keys()
    for operation, route in routes.items():
        calls = _tree(route.dependant)
        # The endpoint, its context (transaction, caller, permission), the session, the
        # caller, OAuth2, the idempotency guard (the app-wide checks are the app's).
        assert len(calls) == 6, (operation, calls)
        assert len({id(c) for c in calls}) == len(calls), operation
        permissions = {getattr(c, "permission", None) for c in calls} - {None}
        assert permissions == {WRITES[operation]}, operation


def test_a_guard_without_a_signed_in_caller_before_it_is_refused_at_registration() -> None:
    router = APIRouter()
    with pytest.raises(TypeError, match="no dependency before the Idempotency-Key"):
        action_route(
            router,
            "/x",
            precondition=False,
            deps=[("session", Session)],
            handle=context_action("nothing"),
            operation_id="x-create",
        )
    # Signed in first (a require(...) caller), it is registered.
    caller = Annotated[Principal, Depends(require(Permission.cases_read))]
    action_route(
        router,
        "/y",
        precondition=False,
        deps=[("principal", caller), ("session", Session)],
        handle=context_action("nothing"),
        operation_id="y-create",
    )
