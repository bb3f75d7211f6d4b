"""The national cryptography profile (issue 18 item 6): SM3, HMAC-SM3 and SM4 checked against
the standards' published examples; `MEDIATION_CRYPTO_PROFILE=gm` encrypts callback numbers
with SM4-GCM, hashes phone numbers with HMAC-SM3 and chains the audit trail with SM3, and
every stored value says which algorithm made it, so data of both profiles stays readable."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mediation.audit import chain
from mediation.gmcrypto import SM4GCM, CryptoProfile, hmac_sm3, sm3
from mediation.hotline.crypto import FieldCipher
from mediation.privacy import keyed_hash
from mediation.settings import Settings
from mediation_dev.clock import MovableClock
from tests.hotline.conftest import CALLS, call_body
from tests.security.apps import client_with
from tests.support.world import World

KEYRING = [("k1", "a-secret-of-sixteen-plus")]


def test_sm3_and_sm4_match_the_standards_examples() -> None:
    # GB/T 32905-2016 appendix A, examples 1 and 2.
    assert sm3(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    # GB/T 32907-2016 appendix A, example 1: one block.
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"
    # HMAC-SM3 is RFC 2104 over SM3 (cross-checked with OpenSSL's digest through hashlib).
    assert (
        hmac_sm3(b"key", b"data")
        == hmac.new(b"key", b"data", lambda: hashlib.new("sm3")).hexdigest()
    )


def test_sm4_gcm_seals_and_binds_to_its_record() -> None:
    aead = SM4GCM(bytes(range(16)))
    nonce = bytes(12)
    sealed = aead.encrypt(nonce, b"13912345678", b"call-1")
    assert aead.decrypt(nonce, sealed, b"call-1") == b"13912345678"
    for tampered, context in (
        (sealed[:-1] + bytes([sealed[-1] ^ 1]), b"call-1"),
        (sealed, b"call-2"),
    ):
        with pytest.raises(InvalidTag):
            aead.decrypt(nonce, tampered, context)


def test_stored_values_say_their_algorithm_and_both_profiles_read_both() -> None:
    gm, default = FieldCipher(KEYRING, CryptoProfile.gm), FieldCipher(KEYRING)
    new, old = gm.encrypt("13912345678", context=b"r"), default.encrypt("13912345678", context=b"r")
    assert new.key_id == "sm4:k1" and old.key_id == "k1"
    for cipher in (gm, default):
        assert (
            cipher.decrypt(new, context=b"r") == cipher.decrypt(old, context=b"r") == "13912345678"
        )
    sm = keyed_hash("pii-key", "phone", "139 1234 5678", CryptoProfile.gm)
    sha = keyed_hash("pii-key", "phone", "139 1234 5678")
    assert sm.startswith("sm3:") and len(sm) == 68 and len(sha) == 64 and ":" not in sha
    assert sm == keyed_hash("pii-key", "phone", "+86 13912345678", CryptoProfile.gm)


@pytest.fixture
def gm_chain() -> Iterator[None]:
    yield
    chain.use_profile(CryptoProfile.default)  # the profile is per process: put it back


@pytest.fixture
async def gm_client(
    settings: Settings, clock: MovableClock, gm_chain: None
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_with(settings, clock, crypto_profile=CryptoProfile.gm) as c:
        yield c


async def test_the_gm_profile_end_to_end_with_data_of_the_default_profile(
    client: httpx.AsyncClient, gm_client: httpx.AsyncClient, world: World, sql: Any
) -> None:
    h = await world.headers("counselor")
    chain.use_profile(CryptoProfile.default)  # as before the switch (both apps share a process)
    # A call recorded before the switch (default profile) ...
    before = await client.post(CALLS, json=call_body(), headers=h)
    assert before.status_code == 201, before.text
    chain.use_profile(CryptoProfile.gm)
    # ... and one after it.
    after = await gm_client.post(CALLS, json=call_body(), headers=h)
    assert after.status_code == 201, after.text
    rows = {
        str(r.id): r
        for r in await sql("SELECT id, callback_key_id, caller_hash FROM hotline_calls")
    }
    old, new = rows[before.json()["id"]], rows[after.json()["id"]]
    assert not old.callback_key_id.startswith("sm4:") and len(old.caller_hash) == 64
    assert new.callback_key_id.startswith("sm4:") and new.caller_hash.startswith("sm3:")
    # Both callback numbers read back, whichever profile reads.
    for c in (client, gm_client):
        for call in (before, after):
            got = await c.get(f"{CALLS}/{call.json()['id']}", headers=h)
            assert (
                got.status_code == 200 and got.json()["caller"]["callback_number"] == "13912345678"
            )
    # The audit chain: SHA-256 entries, then SM3 ones, and it verifies as one chain.
    hashes = [r.hash for r in await sql("SELECT hash FROM audit_events ORDER BY seq")]
    assert any(len(x) == 64 for x in hashes) and hashes[-1].startswith("sm3:")
    verdict = await gm_client.get(
        "/api/v1/audit-events/verify", headers=await world.headers("audit_admin")
    )
    assert verdict.json()["ok"] is True
