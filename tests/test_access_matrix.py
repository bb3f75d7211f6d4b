"""The access matrix, generated from the app's own route table: every route × every role,
in scope and out of scope. A route the policy does not cover fails here."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from mediation.auth.policy import ADMIN_ROLES, ROLE_PERMISSIONS, Permission
from mediation.org.enums import Role
from mediation.org.models import Unit
from mediation.org.tree import add_unit
from mediation_api.main import create_app
from mediation_dev.demo import ACCOUNTS
from tests.support.factories import FACTORIES
from tests.support.world import World

# Routes anyone may call, and routes any signed-in caller may call.
PUBLIC = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/sessions/calendar/{feed_token}.ics"),  # the secret address is the credential
    ("GET", "/api/v1/attachments/{attachment_id}/content"),  # the signed link is the credential
}
SIGNED_IN = {
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/reference/enums"),
    ("GET", "/api/v1/reference/{kind}"),
    ("GET", "/api/v1/reference/{kind}/{code}"),
    ("GET", "/api/v1/calendar/{year}"),
    ("GET", "/api/v1/deadline-rules"),
    ("GET", "/api/v1/notification-event-types"),
    # One's own sign-in security: password, second factor, sessions (people only).
    ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/auth/mfa/enrolment"),
    ("POST", "/api/v1/auth/mfa/enrolment/confirm"),
    ("GET", "/api/v1/auth/sessions"),
    ("DELETE", "/api/v1/auth/sessions/{session_id}"),
}
# Path parameters that are not records: a fixed valid value.
VALUES = {
    "kind": "dispute_category",
    "import_kind": "cases",
    "code": "neighbourhood",
    "year": "2026",
    "month": "10",
    "document_kind": "intake",
    "stage": "first_response",
    "complexity": "simple",
    "event_type": "case.assigned",
    "channel": "inbox",
    "feed_token": "matrix-no-such-feed-token",
}
ROLES = [role for role, *_ in ACCOUNTS]
HOME = {role: unit_code for role, _, unit_code, _ in ACCOUNTS}


def _permissions(route: Any) -> set[Permission]:
    found: set[Permission] = set()
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        perm = getattr(dep.call, "permission", None)
        if perm is not None:
            found.add(perm)
        stack.extend(dep.dependencies)
    return found


def _routes() -> list[tuple[str, str, Any]]:
    app = create_app()
    out = []
    # FastAPI includes routers lazily; the route contexts carry the full path.
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in sorted(route.methods or ()):
                out.append((method, route.path, route))
    return out


ROUTES = _routes()
EXAMPLES: dict[str, Any] = {}


def _example(route: Any) -> Any:
    body = route.body_field
    if body is None:
        return None
    model = getattr(body, "type_", None) or body.field_info.annotation
    schema_extra = getattr(model, "model_config", {}).get("json_schema_extra") or {}
    examples = schema_extra.get("examples") if isinstance(schema_extra, dict) else None
    return examples[0] if examples else {}


def test_every_route_is_covered_by_the_policy() -> None:
    uncovered = [
        f"{m} {p}" for m, p, r in ROUTES if (m, p) not in PUBLIC | SIGNED_IN and not _permissions(r)
    ]
    assert not uncovered, f"routes with no permission in the policy: {uncovered}"
    params = {name for _, p, _ in ROUTES for name in re.findall(r"{(\w+)}", p)}
    missing = sorted(params - set(FACTORIES) - set(VALUES))
    assert not missing, (
        f"path parameters without a factory in tests/support/factories.py: {missing}"
    )


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(
        r"{(\w+)}",
        lambda m: ids.get(m.group(1)) or VALUES.get(m.group(1)) or str(uuid.uuid4()),
        path,
    )


async def _call(
    client: httpx.AsyncClient, method: str, path: str, route: Any, headers: dict[str, str]
) -> httpx.Response:
    body = _example(route)
    h = {**headers, "If-Match": "*"}
    if body is None:
        return await client.request(method, path, headers=h)
    return await client.request(method, path, headers=h, json=body)


async def test_roles_without_the_permission_are_refused_and_nothing_changes(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    before = await sql(
        "SELECT (SELECT count(*) FROM outbox_events), (SELECT count(*) FROM access_log)"
    )
    checked = 0
    for role in ROLES:
        headers = await world.headers(role.value)
        for method, path, route in ROUTES:
            needed = _permissions(route)
            if not needed or needed <= ROLE_PERMISSIONS[role]:
                continue
            r = await _call(client, method, _fill(path, {}), route, headers)
            assert r.status_code in (403, 404), (role.value, method, path, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            checked += 1
    assert checked > 50
    after = await sql(
        "SELECT (SELECT count(*) FROM outbox_events), (SELECT count(*) FROM access_log)"
    )
    assert after == before


async def test_anonymous_callers_get_401_everywhere_but_public_routes(
    client: httpx.AsyncClient,
) -> None:
    for method, path, route in ROUTES:
        if (method, path) in PUBLIC:
            continue
        r = await _call(client, method, _fill(path, {}), route, {})
        assert r.status_code == 401, (method, path, r.status_code)


@pytest.fixture
async def elsewhere(world: World) -> Unit:
    """A unit in another district (铁东区): outside the scope of every demo role but the
    city administrator."""
    async with world.db() as session, session.begin():
        from mediation.org.enums import UnitLevel
        from mediation.org.tree import unit_by_code

        city = await unit_by_code(session, "220300")
        district = await add_unit(
            session, parent=city, level=UnitLevel.district, code="220303", name="铁东区"
        )
        street = await add_unit(
            session, parent=district, level=UnitLevel.street, code="220303001", name="解放街道"
        )
        return street


async def test_records_outside_the_subtree_do_not_exist(
    client: httpx.AsyncClient, world: World, elsewhere: Unit
) -> None:
    """Every GET of one record, for every role allowed to call it: a record at the role's
    own unit is found; the same kind of record in another district is a 404; lists never
    show the other one."""
    item_routes = [
        (m, p, r)
        for m, p, r in ROUTES
        if m == "GET"
        and re.search(r"{\w+}$", p)
        and _permissions(r)
        # A route ending in a fixed value (an import's template kind) reads no record.
        and re.findall(r"{(\w+)}$", p)[0] not in VALUES
    ]
    list_routes = {p: r for m, p, r in ROUTES if m == "GET" and "{" not in p and _permissions(r)}
    checked = 0
    for role in ROLES:
        if role in ADMIN_ROLES:
            continue  # the city administrators' subtree holds both districts
        headers = await world.headers(role.value)
        home = world.unit(HOME[role])
        for _method, path, route in item_routes:
            if not _permissions(route) <= ROLE_PERMISSIONS[role]:
                continue
            params = re.findall(r"{(\w+)}", path)
            own = {p: await FACTORIES[p](world, home) for p in params if p in FACTORIES}
            far = {p: await FACTORIES[p](world, elsewhere) for p in params if p in FACTORIES}
            r_own = await client.get(_fill(path, own), headers=headers)
            r_far = await client.get(_fill(path, far), headers=headers)
            assert r_own.status_code == 200, (role.value, path, r_own.text)
            assert r_far.status_code == 404, (role.value, path, r_far.status_code)
            checked += 1
            listing = list_routes.get(path.rsplit("/", 1)[0])
            if listing is not None:
                page = await client.get(
                    path.rsplit("/", 1)[0], headers=headers, params={"limit": 200}
                )
                assert page.status_code == 200
                ids = {str(i.get("id")) for i in page.json()["items"]}
                assert not set(far.values()) & ids, (role.value, path)
    assert checked >= 10


def test_whoever_reports_adds_evidence_to_their_reports() -> None:
    """The grid's heads and the owners' committee (业委会+三长制) report disputes of their
    subtree and attach what they gathered, without handling cases; every role that reports
    or handles may add evidence (the service then checks it is the case's reporter, handler
    or a dispatcher: tests/casefiles/test_uploads.py)."""
    grid = {Role.grid_head, Role.building_head, Role.unit_head, Role.owners_committee}
    for role in grid:
        held = ROLE_PERMISSIONS[role]
        assert {Permission.cases_create, Permission.cases_evidence} <= held, role
        assert Permission.cases_handle not in held, role
    for role, held in ROLE_PERMISSIONS.items():
        if held & {Permission.cases_create, Permission.cases_handle}:
            assert Permission.cases_evidence in held, role


CONTENT = {
    Permission.cases_read,
    Permission.sessions_read,
    Permission.hotline_read,
    Permission.outreach_read,
    Permission.pii_read,
}


def test_three_administrators_split_the_duties() -> None:
    """三员分立: accounts and roles belong to the security administrator only, the audit
    trail to the audit administrator only, the system's configuration to the system
    administrator only; none of them reads case, session, hotline or outreach content, and
    the audit administrator changes nothing."""
    system, security, audit = (
        ROLE_PERMISSIONS[Role.system_admin],
        ROLE_PERMISSIONS[Role.security_admin],
        ROLE_PERMISSIONS[Role.audit_admin],
    )
    for role in ADMIN_ROLES:
        assert not ROLE_PERMISSIONS[role] & CONTENT, role
    for held, only in (
        (security, {Permission.users_write, Permission.roles_assign}),
        (audit, {Permission.audit_read}),
        (
            system,
            {
                Permission.reference_write,
                Permission.units_write,
                Permission.clients_write,
                Permission.webhooks_manage,
                Permission.notifications_configure,
            },
        ),
    ):
        assert only <= held
        holders = {r for r, p in ROLE_PERMISSIONS.items() if p & only}
        assert len(holders & ADMIN_ROLES) == 1 and not holders - ADMIN_ROLES, holders
    writes = {p for p in Permission if p.value.split(":")[1] not in ("read",)}
    assert not audit & writes


async def test_administrators_read_no_content_and_cannot_combine_roles(
    client: httpx.AsyncClient, world: World
) -> None:
    """Every route needing content permissions refuses each administrator, and no person may
    hold an administrator role with any other role."""
    content_routes = [(m, p, r) for m, p, r in ROUTES if m == "GET" and _permissions(r) & CONTENT]
    assert content_routes
    for role in ADMIN_ROLES:
        headers = await world.headers(role.value)
        for method, path, route in content_routes:
            r = await _call(client, method, _fill(path, {}), route, headers)
            assert r.status_code in (403, 404), (role.value, path, r.status_code)
    security = await world.headers("security_admin")
    me = (await client.get("/api/v1/me", headers=await world.headers("system_admin"))).json()
    person_id = me["person_id"]
    top = world.unit("220300")
    for role in ("security_admin", "dispatcher"):
        r = await client.post(
            f"/api/v1/people/{person_id}/assignments",
            headers=security,
            json={"unit_id": str(top.id), "role": role, "starts_on": "2026-01-01"},
        )
        assert r.status_code == 409, (role, r.text)
        assert r.json()["code"] == "separation-of-duties"
        assert "三员分立" in r.json()["detail"]
    # The system administrator no longer gives roles.
    r = await client.post(
        f"/api/v1/people/{person_id}/assignments",
        headers=await world.headers("system_admin"),
        json={"unit_id": str(top.id), "role": "mediator", "starts_on": "2026-01-01"},
    )
    assert r.status_code == 403
