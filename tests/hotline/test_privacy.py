"""Callback numbers encrypted at rest with rotatable keys; callers recognised by a keyed hash,
never by the number."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from mediation.hotline.crypto import DecryptionError, FieldCipher, KeyringError, parse_keyring
from mediation.privacy import keyed_hash
from mediation.settings import Settings
from tests.hotline.conftest import CALLS, call_body
from tests.support.world import World

OLD = "k1:" + "old-secret-" * 4
NEW = "k2:" + "new-secret-" * 4


async def test_callback_number_is_encrypted_at_rest(
    client: httpx.AsyncClient, world: World, sql: Any, settings: Settings
) -> None:
    r = await client.post(CALLS, headers=await world.headers("counselor"), json=call_body())
    [(enc, kid, digest)] = await sql(
        "SELECT callback_number_enc, callback_key_id, caller_hash FROM hotline_calls"
    )
    assert kid == "k1"
    assert b"13912345678" not in enc and b"5678" not in enc
    assert len(enc) == 12 + len("13912345678") + 16  # nonce, ciphertext, tag
    # the hash is the HMAC of the incoming number, not the number
    assert digest == keyed_hash(settings.pii_hash_key.get_secret_value(), "phone", "13912345678")
    dump = await sql("SELECT row_to_json(c)::text FROM hotline_calls c")
    assert "13912345678" not in dump[0][0]
    assert "5678" not in dump[0][0]
    got = await client.get(f"{CALLS}/{r.json()['id']}", headers=await world.headers("counselor"))
    assert got.json()["caller"]["callback_number"] == "13912345678"


async def test_ciphertext_is_bound_to_its_call(client: httpx.AsyncClient, world: World) -> None:
    h = await world.headers("counselor")
    a = (await client.post(CALLS, headers=h, json=call_body())).json()
    b = (
        await client.post(
            CALLS,
            headers=h,
            json=call_body(caller={"callback_consent": True, "callback_number": "13700000000"}),
        )
    ).json()
    # copying one call's ciphertext into another does not move the number with it
    async with world.db() as session, session.begin():
        from sqlalchemy import text

        await session.execute(
            text(
                "UPDATE hotline_calls SET callback_number_enc = (SELECT callback_number_enc FROM "
                "hotline_calls WHERE id = :a) WHERE id = :b"
            ),
            {"a": a["id"], "b": b["id"]},
        )
    got = await client.get(f"{CALLS}/{b['id']}", headers=h)
    assert got.status_code == 200
    assert got.json()["caller"]["callback_number"] is None


async def test_repeat_callers_are_recognised_by_keyed_hash(
    client: httpx.AsyncClient, world: World
) -> None:
    h = await world.headers("counselor")
    first = (
        await client.post(
            CALLS, headers=h, json=call_body(started_at="2026-11-26T08:00:00+08:00", ended_at=None)
        )
    ).json()
    # same number written differently, no callback this time
    second = (
        await client.post(CALLS, headers=h, json=call_body(caller={"number": "+86 139-1234-5678"}))
    ).json()
    other = (
        await client.post(CALLS, headers=h, json=call_body(caller={"number": "13700001111"}))
    ).json()
    assert second["caller"]["repeat_caller"] is True
    assert second["caller"]["previous_calls"] == 1
    assert other["caller"]["repeat_caller"] is False
    got = (await client.get(f"{CALLS}/{first['id']}", headers=h)).json()
    assert got["caller"]["repeat_caller"] is True and got["caller"]["previous_calls"] == 0
    listed = {
        i["id"]: i["repeat_caller"] for i in (await client.get(CALLS, headers=h)).json()["items"]
    }
    assert listed == {first["id"]: True, second["id"]: True, other["id"]: False}
    same = await client.get(CALLS, headers=h, params={"same_caller_as": second["id"]})
    assert {i["id"] for i in same.json()["items"]} == {first["id"], second["id"]}


@pytest.fixture
async def rotated_client(settings: Settings, clock: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API after a key rotation: a new key first, the old one still there."""
    from mediation_api.main import create_app

    rotated = settings.model_copy(update={"encryption_keys": SecretStr(f"{NEW},{OLD}")})
    app = create_app(rotated, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
async def old_key_client(settings: Settings, clock: Any) -> AsyncIterator[httpx.AsyncClient]:
    from mediation_api.main import create_app

    app = create_app(settings.model_copy(update={"encryption_keys": SecretStr(OLD)}), clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_key_rotation_old_key_id_still_decrypts(
    old_key_client: httpx.AsyncClient, rotated_client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("counselor")
    before = (await old_key_client.post(CALLS, headers=h, json=call_body())).json()
    after = (
        await rotated_client.post(
            CALLS,
            headers=h,
            json=call_body(caller={"callback_consent": True, "callback_number": "13700002222"}),
        )
    ).json()
    kids = dict(await sql("SELECT id::text, callback_key_id FROM hotline_calls"))
    assert kids == {before["id"]: "k1", after["id"]: "k2"}
    r1 = await rotated_client.get(f"{CALLS}/{before['id']}", headers=h)
    r2 = await rotated_client.get(f"{CALLS}/{after['id']}", headers=h)
    assert r1.json()["caller"]["callback_number"] == "13912345678"
    assert r2.json()["caller"]["callback_number"] == "13700002222"
    # a deployment without the new key cannot read what it sealed, and says nothing else
    r3 = await old_key_client.get(f"{CALLS}/{after['id']}", headers=h)
    assert r3.status_code == 200 and r3.json()["caller"]["callback_number"] is None


def test_cipher_keyring() -> None:
    old = FieldCipher(parse_keyring(OLD))
    sealed = old.encrypt("13912345678", context=b"call-1")
    assert sealed.key_id == "k1"
    ring = FieldCipher(parse_keyring(f"{NEW},{OLD}"))
    assert ring.current_key_id == "k2"
    assert ring.decrypt(sealed, context=b"call-1") == "13912345678"
    with pytest.raises(DecryptionError):
        ring.decrypt(sealed, context=b"call-2")
    with pytest.raises(DecryptionError):
        FieldCipher(parse_keyring(NEW)).decrypt(sealed, context=b"call-1")
    # two encryptions of the same number differ (random nonce): no equality leak
    assert old.encrypt("1", context=b"x").blob != old.encrypt("1", context=b"x").blob
    for bad in ("", "k1", "k1:short", f"{OLD},{OLD}"):
        with pytest.raises(KeyringError):
            parse_keyring(bad)
