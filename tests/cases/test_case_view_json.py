"""The case view is written straight from its statement's row (reads.case_view_json), not
through `CaseOut`: its bytes must be exactly what the model made of the same row, for every
shape a field takes and for readers who do and do not see personal data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import select

from mediation.auth.models import User
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.cases.contracts import CaseOut, GuardianOut, PartyOut
from mediation.cases.enums import CaseSource, CaseStatus, PartyKind
from mediation.privacy import mask_id_number, mask_name, mask_phone
from mediation_api.cases.reads import case_view_json, case_view_row
from mediation_api.cases.views import _mask_address, available_actions, prevention
from tests.cases.conftest import CASES, GRID, MINOR_ID, act, advance, case_body, person_id
from tests.support.world import World

READERS = ("dispatcher", "building_head", "grid_head", "mediator")
FOLLOW_UP = {
    "method": "visit",
    "performance": "full",
    "satisfaction": "satisfied",
    "flare_up_risk": "low",
    "notes": "协议已履行",
}


# --- the old path, kept as the oracle --------------------------------------------------------
def _old_party_out(p: Any, unmasked: bool) -> PartyOut:
    if unmasked:
        guardian = GuardianOut(
            name=p.guardian_name,
            phone=p.guardian_phone,
            id_number=p.guardian_id_number,
            relation=p.guardian_relation,
        )
        return PartyOut(
            id=p.id,
            kind=p.kind,
            side=p.side,
            name=p.name,
            phone=p.phone,
            id_number=p.id_number,
            org_code=p.org_code,
            is_minor=p.is_minor,
            guardian=guardian if p.guardian_name else None,
            address=p.address,
        )
    guardian = GuardianOut(
        name=mask_name(p.guardian_name),
        phone=mask_phone(p.guardian_phone),
        id_number=mask_id_number(p.guardian_id_number),
        relation=p.guardian_relation,
    )
    org = p.kind == PartyKind.organisation
    return PartyOut(
        id=p.id,
        kind=p.kind,
        side=p.side,
        name=p.name if org else (mask_name(p.name) or ""),
        phone=mask_phone(p.phone),
        id_number=mask_id_number(p.id_number),
        org_code=p.org_code,
        is_minor=p.is_minor,
        guardian=guardian if p.guardian_name else None,
        address=p.address if org else _mask_address(p.address),
    )


def model_json(row: dict[str, Any], principal: Principal, now: datetime) -> bytes:
    """What the case view answered before: `CaseOut.model_validate` of the row, serialized."""
    unmasked = principal.can(Permission.pii_read)
    out = dict(row)
    paused = out["paused_at"] is not None
    case = SimpleNamespace(**out)
    case.status = CaseStatus(out["status"])
    out.update(
        intake_mode=CaseSource(out["source"]).intake_mode,
        prevention=prevention(case),  # type: ignore[arg-type]
        parties=[_old_party_out(SimpleNamespace(**p), unmasked) for p in out["parties"]],
        pii_masked=not unmasked,
        paused=paused,
        overdue=out["due_at"] is not None and not paused and out["due_at"] < now,
        available_actions=available_actions(case, principal),  # type: ignore[arg-type]
    )
    return CaseOut.__pydantic_serializer__.to_json(CaseOut.model_validate(out))


# --- helpers ------------------------------------------------------------------------------
async def principal_of(world: World, username: str) -> Principal:
    from mediation_api.auth.service import AuthService

    state = world.app.state.mediation
    async with world.db() as session:
        user = (await session.scalars(select(User).where(User.username == username))).one()
        service = AuthService(session, state.tokens, state.redis, state.settings, world.clock.now())
        return await service.user_principal(user)


async def row_of(world: World, case_id: str, principal: Principal) -> dict[str, Any] | None:
    async with world.app.state.mediation.reads.acquire() as conn:
        row = await case_view_row(conn, uuid.UUID(case_id), principal, world.clock.now())
    return None if row is None else dict(row)


async def same_bytes(world: World, row: dict[str, Any], principal: Principal) -> bytes:
    now = world.clock.now()
    written = case_view_json(row, principal, now)
    assert written == model_json(row, principal, now), row["number"]
    return written


def created(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def cases_of_every_shape(client: httpx.AsyncClient, world: World) -> list[str]:
    grid, dispatcher = await world.headers("grid_head"), await world.headers("dispatcher")
    ids = []
    # Guardian of a minor, an organisation, Chinese text, prevention flags, an amount.
    body = case_body(
        world, unit_id=str(world.unit(GRID).id), occurred_at="2026-11-25T21:30:00+08:00"
    )
    body["parties"] += [
        {
            "kind": "person",
            "side": "third_party",
            "name": "小明",
            "id_number": MINOR_ID,
            "is_minor": True,
            "address": "铁西区先锋街道先锋社区1号楼1单元502室",
            "guardian": {"name": "王芳", "phone": "13700003333", "relation": "母亲"},
        },
        {
            "kind": "organisation",
            "side": "respondent",
            "name": "某物业服务有限公司",
            "org_code": "91220300MA0000000X",
            "address": "铁西区某路1号",
        },
    ]
    body["prevention"] = [{"kind": "criminal", "people": 2}, {"kind": "suicide", "people": 1}]
    first = created(await client.post(CASES, headers=grid, json=body))
    ids.append(first["id"])
    # The same phone again: a repeat dispute with related cases; no claims, no amount.
    repeat = case_body(
        world, unit_id=str(world.unit(GRID).id), claims=None, amount_involved=None, prevention=[]
    )
    ids.append(created(await client.post(CASES, headers=grid, json=repeat))["id"])
    # Accepted and paused.
    paused = created(await client.post(CASES, headers=dispatcher, json=case_body(world)))
    paused = await act(client, dispatcher, paused, "accept", {"note": "受理"})
    paused = await act(client, dispatcher, paused, "pause", {"reason": "等待被申请人返回"})
    ids.append(paused["id"])
    # Handled to the end: handlers, an agreement, met deadlines, closed (no running deadline).
    case = created(await client.post(CASES, headers=dispatcher, json=case_body(world)))
    case = await act(client, dispatcher, case, "accept", {"note": "符合受理条件"})
    mediator = await person_id(world, "mediator")
    police = await person_id(world, "police")
    handlers = [
        {"person_id": str(mediator), "channel": "people", "lead": True},
        {"person_id": str(police), "channel": "police_joint"},
    ]
    case = await act(client, dispatcher, case, "assign", {"handlers": handlers})
    med = await world.headers("mediator")
    case = await act(client, med, case, "start-mediation", {})
    ids.append(case["id"])
    agreement = {
        "form": "written",
        "terms": "502室业主于7日内修复漏水并赔偿402室2000元。",
        "amount": "2000.10",
        "performance_method": "现金一次性支付",
        "performance_due_on": "2026-12-03",
        "signed_by_parties": True,
    }
    resolved = created(await client.post(CASES, headers=dispatcher, json=case_body(world)))
    for action, payload in (
        ("accept", {}),
        ("assign", {"handlers": handlers}),
        ("start-mediation", {}),
        ("resolve", {"agreement": agreement}),
    ):
        actor = dispatcher if action in ("accept", "assign") else med
        resolved = await act(client, actor, resolved, action, payload)
    ids.append(resolved["id"])
    # Resolved, with the agreement; and once more, closed (no running deadline).
    closed = created(await client.post(CASES, headers=dispatcher, json=case_body(world)))
    for action, payload in (
        ("accept", {}),
        ("assign", {"handlers": handlers}),
        ("start-mediation", {}),
        ("resolve", {"agreement": agreement}),
        ("follow-ups", FOLLOW_UP),
        ("close", {"note": "结案"}),
    ):
        actor = dispatcher if action in ("accept", "assign", "close") else med
        closed = await act(client, actor, closed, action, payload)
    ids.append(closed["id"])
    return ids


# --- tests ----------------------------------------------------------------------------------
async def test_the_case_view_reads_as_the_model_wrote_it(
    client: httpx.AsyncClient, world: World
) -> None:
    ids = await cases_of_every_shape(client, world)
    advance(world, timedelta(days=9))  # running deadlines overdue
    seen: set[str] = set()
    for username in READERS:
        principal = await principal_of(world, username)
        headers = await world.headers(username)
        for case_id in ids:
            row = await row_of(world, case_id, principal)
            r = await client.get(f"{CASES}/{case_id}", headers=headers)
            if row is None:  # outside the reader's jurisdiction
                assert r.status_code == 404
                continue
            written = await same_bytes(world, row, principal)
            # The endpoint answers those bytes (same clock, same row), with its ETag.
            assert r.status_code == 200 and r.content == written
            assert r.headers["etag"] == f'"{case_id}-{row["version"]}"'
            view = r.json()
            seen.update(
                k
                for k in ("agreement", "imported_from", "due_at", "closed_at", "claims")
                if view[k] is not None
            )
            seen.update(k for k in ("paused", "overdue", "is_repeat") if view[k])
            seen.add("masked" if view["pii_masked"] else "unmasked")
            if any(p["guardian"] for p in view["parties"]):
                seen.add("guardian")
    assert seen >= {"agreement", "due_at", "closed_at", "claims", "paused", "overdue"}
    assert seen >= {"is_repeat", "masked", "unmasked", "guardian"}


async def test_odd_values_read_as_the_model_wrote_them(
    client: httpx.AsyncClient, world: World
) -> None:
    """Shapes the API does not make but a row may hold (imports, other zones' clocks, text
    needing escapes): each written as the model wrote it."""
    case_id = (await cases_of_every_shape(client, world))[2]  # in the building head's building
    plus_530 = timezone(timedelta(hours=5, minutes=30))
    for username in ("dispatcher", "building_head"):
        principal = await principal_of(world, username)
        base = await row_of(world, case_id, principal)
        assert base is not None
        handler = {
            "person_id": str(uuid.uuid4()),
            "name": "冯调解",
            "channel": "people",
            "lead": True,
            "assumed_at": "2026-11-26T02:30:00.5+00:00",
        }
        deadline = dict(base["deadlines"][0], met_at="2026-11-27T23:59:59.123456+05:30")
        variants: list[dict[str, Any]] = [
            {
                "title": 'He said "漏水"\\ \n\t\x00\x1f\x7f \u2028\u2029 😀 é',
                "facts": "",
                "claims": "\r\n",
                "address": None,
                "occurred_at": datetime(2026, 11, 25, 15, 30, 0, 7, tzinfo=UTC),
                "amount_involved": Decimal("0.10"),
                "historical": True,
                "imported_from": {
                    "import_id": str(uuid.uuid4()),
                    "row": 2,
                    "filename": "台账 2025.xlsx",
                },
                "handlers": [handler],
                "deadlines": [deadline],
                "received_at": datetime(1999, 12, 31, 16, 0, tzinfo=plus_530),
                "reason": "退回：材料不全",
                "referral_target": "litigation",
                "related_cases": [],
                "external_ref": "110-2026-000001",
            },
            {
                "amount_involved": Decimal("123456789012.00"),
                "parties": [
                    dict(p, name="", phone="123", id_number="1234", address="短地址")
                    for p in base["parties"]
                ]
                + [
                    dict(
                        base["parties"][0],
                        guardian_name="王",
                        guardian_phone=None,
                        guardian_id_number=None,
                        guardian_relation=None,
                        address=None,
                    )
                ],
                "agreement": {
                    "form": "oral",
                    "terms": "口头协议",
                    "amount": None,
                    "performance_method": "当场履行",
                    "performance_due_on": None,
                    "effective_on": "2026-11-26",
                    "signed_by_parties": False,
                    "judicial_confirmation_until": "2026-12-26",
                    "judicial_confirmation_requested_on": "2026-11-30",
                    "judicial_confirmation_court": "铁西区人民法院",
                    "performance_status": "partial",
                },
                "paused_at": datetime(2026, 11, 26, 1, 0, tzinfo=UTC),
                "pause_reason": "等待",
                "due_at": datetime(2026, 11, 20, 15, 59, 59, tzinfo=UTC),
            },
            {"due_at": datetime(2026, 11, 20, 15, 59, 59, tzinfo=UTC), "paused_at": None},
        ]
        for change in variants:
            await same_bytes(world, {**base, **change}, principal)


async def test_an_action_answers_the_case_view(client: httpx.AsyncClient, world: World) -> None:
    dispatcher = await world.headers("dispatcher")
    case = created(await client.post(CASES, headers=dispatcher, json=case_body(world)))
    r = await client.post(
        f"{CASES}/{case['id']}/accept",
        json={"note": "受理"},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-1"', "Idempotency-Key": "k-1"},
    )
    assert r.status_code == 200, r.text
    principal = await principal_of(world, "dispatcher")
    row = await row_of(world, case["id"], principal)
    assert row is not None
    assert r.content == await same_bytes(world, row, principal)
    again = await client.post(
        f"{CASES}/{case['id']}/accept",
        json={"note": "受理"},
        headers={**dispatcher, "If-Match": f'"{case["id"]}-1"', "Idempotency-Key": "k-1"},
    )
    assert again.content == r.content and again.headers["idempotent-replayed"] == "true"
