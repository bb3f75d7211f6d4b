"""The jurisdiction tree and the people in it, scoped to the caller's subtree."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.world import World

UNITS = "/api/v1/units"


async def test_tree_is_scoped_to_the_callers_subtree(
    client: httpx.AsyncClient, world: World
) -> None:
    grid = world.unit("220302001001G01")
    other = world.unit("220302001001G02")
    h = await world.headers("grid_head")
    r = await client.get(UNITS, headers=h, params={"limit": 200})
    codes = {u["code"] for u in r.json()["items"]}
    assert codes == {
        "220302001001G01",
        "220302001001G01B01",
        "220302001001G01B02",
        "220302001001G01B01U01",
        "220302001001G01B01U02",
        "220302001001G01B02U01",
    }
    assert (await client.get(f"{UNITS}/{grid.id}", headers=h)).status_code == 200
    assert (await client.get(f"{UNITS}/{other.id}", headers=h)).status_code == 404
    r = await client.get(
        UNITS, headers=await world.headers("dispatcher"), params={"level": "community"}
    )
    assert {u["name"] for u in r.json()["items"]} == {"先锋社区", "西园社区"}


async def test_admin_creates_renames_and_deactivates(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("system_admin")
    community = world.unit("220302001001")
    r = await client.post(
        UNITS,
        headers=h,
        json={
            "parent_id": str(community.id),
            "level": "grid",
            "code": "220302001001G03",
            "name": "先锋社区第三网格",
        },
    )
    assert r.status_code == 201, r.text
    unit = r.json()
    assert unit["path"].startswith(community.path)
    bad_level = await client.post(
        UNITS,
        headers=h,
        json={"parent_id": str(community.id), "level": "building", "code": "X1", "name": "楼"},
    )
    assert bad_level.status_code == 422
    dup = await client.post(
        UNITS,
        headers=h,
        json={
            "parent_id": str(community.id),
            "level": "grid",
            "code": "220302001001G03",
            "name": "重",
        },
    )
    assert dup.status_code == 409 and dup.json()["code"] == "unit-code-taken"

    r = await client.patch(
        f"{UNITS}/{unit['id']}",
        headers={**h, "If-Match": r.headers["etag"]},
        json={"name": "先锋社区三网格"},
    )
    assert r.status_code == 200 and r.json()["name"] == "先锋社区三网格"
    r = await client.post(
        f"{UNITS}/{unit['id']}/deactivate", headers={**h, "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 200 and r.json()["active"] is False
    child = await client.post(
        UNITS,
        headers=h,
        json={"parent_id": unit["id"], "level": "building", "code": "B9", "name": "9号楼"},
    )
    assert child.status_code == 422
    assert (await sql("SELECT count(*) FROM units WHERE code = '220302001001G03'"))[0][0] == 1


async def test_deactivating_a_subtree_leaves_its_already_inactive_units_as_they_were(
    client: httpx.AsyncClient, world: World
) -> None:
    """A grid deactivated last month keeps its version and ETag when its community goes:
    nothing about it changes (its units that were active do change)."""
    h = await world.headers("system_admin")
    grid, building = world.unit("220302001001G02"), world.unit("220302001001G01B01")
    community = world.unit("220302001001")

    async def read(unit_id: Any) -> httpx.Response:
        r = await client.get(f"{UNITS}/{unit_id}", headers=h)
        assert r.status_code == 200, r.text
        return r

    r = await read(grid.id)
    r = await client.post(
        f"{UNITS}/{grid.id}/deactivate", headers={**h, "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 200 and r.json()["active"] is False
    inactive, active = await read(grid.id), await read(building.id)
    r = await read(community.id)
    r = await client.post(
        f"{UNITS}/{community.id}/deactivate", headers={**h, "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 200, r.text
    after = await read(grid.id)
    assert after.headers["etag"] == inactive.headers["etag"]
    assert after.json()["version"] == inactive.json()["version"]
    changed = await read(building.id)
    assert changed.json()["active"] is False
    assert changed.headers["etag"] != active.headers["etag"]


async def test_import_is_all_or_nothing_with_a_report(
    client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = {**await world.headers("system_admin"), "content-type": "text/csv"}
    before = (await sql("SELECT count(*) FROM units"))[0][0]
    bad = (
        "\ufeffcode,name,level,parent_code\n"
        "220303,铁东区,district,220300\n"
        "220303001,解放街道,street,220303\n"
        "220303001001,,community,220303001\n"  # no name
        "220303001002,新华社区,grid,220303001\n"  # wrong level
        "220303001003,北山社区,community,999\n"  # unknown parent
        "220303,重复,district,220300\n"
    )  # duplicate code
    r = await client.post(f"{UNITS}/import", headers=h, content=bad.encode())
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"units.3.name", "units.4.level", "units.5.parent_code", "units.6.code"} <= fields
    assert (await sql("SELECT count(*) FROM units"))[0][0] == before

    good = (
        "code,name,level,parent_code\n"
        "220303001001,胜利社区,community,220303001\n"  # child listed before its parent
        "220303,铁东区,district,220300\n"
        "220303001,解放街道,street,220303\n"
    )
    r = await client.post(f"{UNITS}/import", headers=h, content=good.encode())
    assert r.status_code == 201, r.text
    assert r.json() == {"created": 3}
    rows = await sql(
        "SELECT c.path LIKE p.path || '%' FROM units c JOIN units p "
        "ON p.code = '220303' WHERE c.code = '220303001001'"
    )
    assert rows == [(True,)]
    # JSON works too, and the district's dispatcher does not see the new district
    r = await client.post(
        f"{UNITS}/import",
        headers=await world.headers("system_admin"),
        json={
            "units": [
                {
                    "code": "220303001001G01",
                    "name": "胜利一网格",
                    "level": "grid",
                    "parent_code": "220303001001",
                }
            ]
        },
    )
    assert r.status_code == 201
    seen = await client.get(UNITS, headers=await world.headers("dispatcher"), params={"limit": 200})
    assert not any(u["code"].startswith("220303") for u in seen.json()["items"])


async def test_communities_without_police_or_legal_advisor_are_reported(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get(f"{UNITS}/coverage-gaps", headers=await world.headers("dispatcher"))
    assert r.status_code == 200
    gaps = {g["name"]: sorted(g["missing"]) for g in r.json()}
    # 先锋社区 has both (demo police and legal advisor); 西园社区 has neither
    assert gaps == {"西园社区": ["legal_advisor", "police"]}


async def test_people_roles_masking_and_access_log(
    client: httpx.AsyncClient, world: World, clock: Any
) -> None:
    admin = await world.headers("system_admin")
    xiyuan = world.unit("220302001002")
    r = await client.post(
        "/api/v1/people",
        headers=admin,
        json={
            "name": "何警官",
            "phone": "13912345678",
            "assignment": {"unit_id": str(xiyuan.id), "role": "police", "starts_on": "2026-01-01"},
        },
    )
    assert r.status_code == 201, r.text
    person = r.json()
    gaps = await client.get(f"{UNITS}/coverage-gaps", headers=admin)
    assert {g["name"]: g["missing"] for g in gaps.json()} == {"西园社区": ["legal_advisor"]}

    # the list masks phones; the item read by a role that needs them is unmasked and logged
    disp = await world.headers("dispatcher")
    lst = await client.get("/api/v1/people", headers=disp, params={"role": "police"})
    phones = {p["name"]: p["phone"] for p in lst.json()["items"]}
    assert phones["何警官"] == "139****5678"
    one = await client.get(f"/api/v1/people/{person['id']}", headers=disp)
    assert one.json()["phone"] == "13912345678"
    auditor = await world.headers("audit_admin")
    log = await client.get(
        "/api/v1/access-log", headers=auditor, params={"subject_id": person["id"]}
    )
    assert log.status_code == 200
    entries = log.json()["items"]
    assert len(entries) == 1 and entries[0]["actor_name"] == "钱调度"
    assert (await client.get("/api/v1/access-log", headers=disp)).status_code == 403

    # the grid head of 先锋 does not see a person who only works in 西园
    gh = await client.get(
        f"/api/v1/people/{person['id']}", headers=await world.headers("grid_head")
    )
    assert gh.status_code in (403, 404)

    # ending the assignment reopens the gap
    assignments = await client.get(f"/api/v1/people/{person['id']}/assignments", headers=admin)
    aid = assignments.json()[0]["id"]
    r = await client.post(
        f"/api/v1/assignments/{aid}/end",
        headers=await world.headers("security_admin"),
        json={"ends_on": "2026-11-01"},
    )
    assert r.status_code == 200
    gaps = await client.get(f"{UNITS}/coverage-gaps", headers=admin)
    assert {g["name"]: sorted(g["missing"]) for g in gaps.json()} == {
        "西园社区": ["legal_advisor", "police"]
    }

    # giving the role again closes it
    again = await client.post(
        f"/api/v1/people/{person['id']}/assignments",
        headers=await world.headers("security_admin"),
        json={
            "unit_id": str(world.unit("220302001002").id),
            "role": "police",
            "starts_on": "2026-11-02",
        },
    )
    assert again.status_code == 201, again.text
    assert (again.json()["role"], again.json()["starts_on"]) == ("police", "2026-11-02")
    listed = await client.get(f"/api/v1/people/{person['id']}/assignments", headers=admin)
    assert again.json() in listed.json() and len(listed.json()) == 2
    gaps = await client.get(f"{UNITS}/coverage-gaps", headers=admin)
    assert {g["name"]: g["missing"] for g in gaps.json()} == {"西园社区": ["legal_advisor"]}


async def test_a_persons_email_follows_one_rule_on_creation_and_on_change(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await world.headers("system_admin")
    assignment = {
        "unit_id": str(world.unit("220302001002").id),
        "role": "police",
        "starts_on": "2026-01-01",
    }
    bad = await client.post(
        "/api/v1/people",
        headers=admin,
        json={"name": "何警官", "email": "he at police", "assignment": assignment},
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    r = await client.post(
        "/api/v1/people",
        headers=admin,
        json={"name": "何警官", "email": "he@police.example", "assignment": assignment},
    )
    assert r.status_code == 201, r.text
    url, etag = f"/api/v1/people/{r.json()['id']}", r.headers["etag"]

    bad = await client.patch(
        url, headers={**admin, "If-Match": etag}, json={"email": "he at police"}
    )
    assert bad.status_code == 422, bad.text  # took any text before
    assert bad.headers["content-type"] == "application/problem+json"
    assert "email" in bad.text
    kept = await client.get(url, headers=admin)
    assert (kept.json()["email"], kept.json()["version"]) == ("he@police.example", 1)
    assert kept.headers["etag"] == etag  # nothing changed

    ok = await client.patch(
        url, headers={**admin, "If-Match": etag}, json={"email": "he2@police.example"}
    )
    assert ok.status_code == 200 and ok.json()["email"] == "he2@police.example"


async def _in_both_communities(
    client: httpx.AsyncClient, world: World, name: str, role: str
) -> tuple[str, str]:
    """A new person holding `role` in 先锋社区 and, from February, a mediator of 西园社区: their
    id and the id of the 西园社区 assignment."""
    xianfeng, xiyuan = world.unit("220302001001"), world.unit("220302001002")
    r = await client.post(
        "/api/v1/people",
        headers=await world.headers("system_admin"),
        json={
            "name": name,
            "assignment": {"unit_id": str(xianfeng.id), "role": role, "starts_on": "2026-01-01"},
        },
    )
    assert r.status_code == 201, r.text
    person = r.json()["id"]
    r = await client.post(
        f"/api/v1/people/{person}/assignments",
        headers=await world.headers("security_admin"),
        json={"unit_id": str(xiyuan.id), "role": "mediator", "starts_on": "2026-02-01"},
    )
    assert r.status_code == 201, r.text
    return person, r.json()["id"]


async def test_a_persons_roles_are_listed_within_the_readers_jurisdiction(
    client: httpx.AsyncClient, world: World
) -> None:
    """A mediator working in 先锋社区 and in 西园社区: the police officer of 先锋社区 reads
    the person and their role there, not the role in 西园社区 (a unit and an assignment that
    answer 404 to them); the district sees both."""
    xianfeng, xiyuan = world.unit("220302001001"), world.unit("220302001002")
    person, elsewhere = await _in_both_communities(client, world, "两地调解员", "mediator")

    url = f"/api/v1/people/{person}/assignments"
    district = await client.get(url, headers=await world.headers("dispatcher"))
    assert {a["unit_id"] for a in district.json()} == {str(xianfeng.id), str(xiyuan.id)}
    police = await world.headers("police")
    mine = await client.get(url, headers=police)
    assert mine.status_code == 200
    assert [a["unit_id"] for a in mine.json()] == [str(xianfeng.id)]
    assert elsewhere not in str(mine.json())
    assert (await client.get(f"{UNITS}/{xiyuan.id}", headers=police)).status_code == 404


async def test_the_people_filters_count_only_roles_within_the_readers_jurisdiction(
    client: httpx.AsyncClient, world: World
) -> None:
    """A legal advisor of 先锋社区 is also a mediator of 西园社区: the police officer of 先锋社区
    must not learn that role through the list's filters, as the assignments list hides it."""
    xianfeng, xiyuan = world.unit("220302001001"), world.unit("220302001002")
    person, _ = await _in_both_communities(client, world, "两地顾问", "legal_advisor")

    async def listed(headers: dict[str, str], **params: str) -> list[str]:
        r = await client.get("/api/v1/people", headers=headers, params=params)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"]]

    police = await world.headers("police")
    assert person in await listed(police, role="legal_advisor")
    assert person in await listed(police, unit_id=str(xianfeng.id))
    assert person not in await listed(police, role="mediator")
    outside = await client.get("/api/v1/people", headers=police, params={"unit_id": str(xiyuan.id)})
    assert outside.status_code == 422, outside.text
    assert outside.json()["code"] == "unit-not-in-jurisdiction"
    # The district covers both communities: it finds the person by either role.
    district = await world.headers("dispatcher")
    assert person in await listed(district, role="mediator")
    assert person in await listed(district, unit_id=str(xiyuan.id))


async def test_accounts_and_clients(client: httpx.AsyncClient, world: World) -> None:
    admin = await world.headers("system_admin")
    xiyuan = world.unit("220302001002")
    person = (
        await client.post(
            "/api/v1/people",
            headers=admin,
            json={
                "name": "刘调解",
                "assignment": {
                    "unit_id": str(xiyuan.id),
                    "role": "mediator",
                    "starts_on": "2026-01-01",
                },
            },
        )
    ).json()
    security = await world.headers("security_admin")  # accounts are the security admin's
    r = await client.post(
        "/api/v1/users",
        headers=security,
        json={"username": "liu.mediator", "person_id": person["id"], "password": "long-password-1"},
    )
    assert r.status_code == 201
    token = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "liu.mediator", "password": "long-password-1"},
    )
    assert token.status_code == 200
    r = await client.patch(
        f"/api/v1/users/{r.json()['id']}",
        headers={**security, "If-Match": r.headers["etag"]},
        json={"active": False},
    )
    assert r.status_code == 200
    token = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "liu.mediator", "password": "long-password-1"},
    )
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"

    r = await client.post(
        "/api/v1/clients",
        headers=admin,
        json={
            "client_id": "court-link",
            "name": "四平中院诉调对接",
            "scopes": ["cases:create"],
            "unit_id": str(world.unit("220302").id),
        },
    )
    assert r.status_code == 201
    secret = r.json()["client_secret"]
    t = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "court-link",
            "client_secret": secret,
        },
    )
    assert t.status_code == 200 and t.json()["scope"] == "cases:create"
    bad = await client.post(
        "/api/v1/clients",
        headers=admin,
        json={
            "client_id": "greedy",
            "name": "x",
            "scopes": ["users:write"],
            "unit_id": str(world.unit("220302").id),
        },
    )
    assert bad.status_code == 422


async def test_hotline_reads_are_audited_inside_the_workstation_only(
    client: httpx.AsyncClient, world: World, db: Any
) -> None:
    """The reads of a call of 西园社区 are in the log of that workstation's supervisor; the
    audit administrator does not see them, nor does the supervisor of 先锋社区's
    workstation, to whom the call answers 404 (the entries name it and who read it)."""
    from datetime import date

    from mediation.auth.access_log import record_access
    from mediation.auth.accounts import add_account
    from mediation.auth.principal import Principal
    from mediation.org.enums import Role
    from tests.hotline.conftest import CALLS, XIANFENG, call_body

    async with db() as session, session.begin():
        await add_account(
            session,
            username="supervisor_xf",
            name="何督导",
            role=Role.hotline_supervisor,
            unit_id=world.unit(XIANFENG).id,
            password="demo-password",
            starts_on=date(2020, 1, 1),
        )
        who = Principal(
            kind="user",
            id=world.unit("220302").id,
            name="钱调度",
            roles=frozenset(),
            permissions=frozenset(),
            scope_paths=(),
        )
        record_access(
            session, who, action="read", record_type="person", record_id=world.unit("220302").id
        )
    counselor = await world.headers("counselor")
    call = (await client.post(CALLS, headers=counselor, json=call_body())).json()
    assert (await client.get(f"{CALLS}/{call['id']}", headers=counselor)).status_code == 200

    admin = await client.get("/api/v1/access-log", headers=await world.headers("audit_admin"))
    assert [e["record_type"] for e in admin.json()["items"]] == ["person"]
    sup = await client.get("/api/v1/access-log", headers=await world.headers("hotline_supervisor"))
    entries = sup.json()["items"]
    assert entries and {(e["record_type"], e["record_id"]) for e in entries} == {
        ("hotline_call", call["id"])
    }
    other = await world.headers("supervisor_xf")
    assert (await client.get(f"{CALLS}/{call['id']}", headers=other)).status_code == 404
    for params in ({}, {"record_id": call["id"]}, {"record_type": "hotline_call"}):
        r = await client.get("/api/v1/access-log", headers=other, params=params)
        assert r.status_code == 200 and r.json()["items"] == [], params


async def test_roles_count_by_the_day_in_beijing_not_in_utc(
    client: httpx.AsyncClient, world: World
) -> None:
    # 07:30 in Beijing is 23:30 of the day before in UTC: a police officer whose role starts
    # today covers the community now, not from 08:00 on.
    from datetime import UTC, datetime

    from tests.cases.conftest import at

    at(world, datetime(2026, 11, 26, 23, 30, tzinfo=UTC))  # as the system clock gives it
    admin = await world.headers("system_admin")
    r = await client.post(
        "/api/v1/people",
        headers=admin,
        json={
            "name": "晨警官",
            "assignment": {
                "unit_id": str(world.unit("220302001002").id),
                "role": "police",
                "starts_on": "2026-11-27",
            },
        },
    )
    assert r.status_code == 201, r.text
    gaps = await client.get(f"{UNITS}/coverage-gaps", headers=admin)
    assert {g["name"]: g["missing"] for g in gaps.json()} == {"西园社区": ["legal_advisor"]}
    listed = await client.get("/api/v1/people", headers=admin, params={"role": "police"})
    assert "晨警官" in {p["name"] for p in listed.json()["items"]}


async def test_a_role_that_ended_yesterday_grants_nothing_at_dawn(
    client: httpx.AsyncClient, world: World
) -> None:
    # 07:30 in Beijing on 27 November is still 26 November in UTC: a dispatcher whose role
    # ended on the 26th (the center's calendar) signs in with no roles, not with the old one.
    from datetime import UTC, datetime

    from tests.cases.conftest import at

    await sql_exec(
        world,
        "UPDATE role_assignments SET ends_on = '2026-11-26' WHERE person_id ="
        " (SELECT person_id FROM users WHERE username = 'dispatcher')",
    )
    at(world, datetime(2026, 11, 26, 23, 30, tzinfo=UTC))
    me = await client.get("/api/v1/me", headers=await world.headers("dispatcher"))
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == []
    listed = await client.get("/api/v1/cases", headers=await world.headers("dispatcher"))
    assert listed.status_code == 403


async def test_separation_of_duties_counts_a_role_to_its_last_day_by_the_services_clock(
    client: httpx.AsyncClient, world: World
) -> None:
    """三员分立 refuses an administrator role while another role is held, up to its last day
    by the center's calendar as the service's clock gives it (it compared with the database
    server's date: UTC's, and the real one rather than the service's)."""
    from datetime import datetime

    from mediation.clock import CENTER_TZ
    from tests.cases.conftest import at

    r = await client.post(
        "/api/v1/people",
        headers=await world.headers("system_admin"),
        json={
            "name": "转岗调度",
            "assignment": {
                "unit_id": str(world.unit("220300").id),
                "role": "dispatcher",
                "starts_on": "2026-01-01",
                "ends_on": "2026-11-30",
            },
        },
    )
    assert r.status_code == 201, r.text
    url = f"/api/v1/people/{r.json()['id']}/assignments"
    body = {
        "unit_id": str(world.unit("220300").id),
        "role": "audit_admin",
        "starts_on": "2026-12-01",
    }
    # 30 November, 23:30 in Beijing: the dispatcher's role has half an hour left.
    at(world, datetime(2026, 11, 30, 23, 30, tzinfo=CENTER_TZ))
    refused = await client.post(url, headers=await world.headers("security_admin"), json=body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "separation-of-duties"
    # 1 December, 07:30 in Beijing (still 30 November in UTC): it has ended.
    at(world, datetime(2026, 12, 1, 7, 30, tzinfo=CENTER_TZ))
    given = await client.post(url, headers=await world.headers("security_admin"), json=body)
    assert given.status_code == 201, given.text


async def sql_exec(world: World, statement: str) -> None:
    from sqlalchemy import text

    async with world.db() as session, session.begin():
        await session.execute(text(statement))
