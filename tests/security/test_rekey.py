"""`mediation crypto rekey` (issue 18 item 6): after switching to the national profile it
re-encrypts callback numbers and second-factor secrets and re-hashes parties' phone and ID
numbers in batches; killed
with SIGKILL in the middle and run again, it finishes with every value readable, every hash
consistent and no row lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import asyncpg
import httpx

from mediation.gmcrypto import CryptoProfile
from mediation.hotline.crypto import FieldCipher, Sealed
from mediation.privacy import keyed_hash
from mediation.settings import Settings
from tests.cases.conftest import CASES, case_body
from tests.hotline.conftest import CALLS, call_body
from tests.support import databases
from tests.support.world import World

COPIES = 20_000


async def test_rekey_survives_a_kill_and_loses_nothing(
    client: httpx.AsyncClient, world: World, sql: Any, settings: Settings, database_url: str
) -> None:
    h = await world.headers("dispatcher")
    case = await client.post(CASES, json=case_body(world), headers=h)
    assert case.status_code == 201, case.text
    counselor = await world.headers("counselor")
    calls = [
        (await client.post(CALLS, json=call_body(), headers=counselor)).json()["id"]
        for _ in range(3)
    ]
    [(party_id,)] = await sql(
        "SELECT id FROM case_parties WHERE case_id = :c AND id_number IS NOT NULL",
        c=case.json()["id"],
    )
    # Many parties (each with its own number), all hashed in the default profile.
    conn = await asyncpg.connect(databases.plain(database_url))
    try:
        await conn.execute(
            "INSERT INTO case_parties SELECT (jsonb_populate_record(NULL::case_parties,"
            " to_jsonb(p) || jsonb_build_object('id', gen_random_uuid(), 'phone',"
            " '139' || lpad(g::text, 8, '0'), 'position', g))).*"
            " FROM case_parties p, generate_series(10, 9 + $1::int) g WHERE p.id = $2",
            COPIES,
            party_id,
        )
    finally:
        await conn.close()
    [(before,)] = await sql("SELECT count(*) FROM case_parties")
    assert before >= COPIES

    env = {
        **os.environ,
        "DATABASE_URL": databases.plain(database_url),
        "MEDIATION_CRYPTO_PROFILE": "gm",
        "MEDIATION_PII_HASH_KEY": settings.pii_hash_key.get_secret_value(),
        "MEDIATION_ENCRYPTION_KEYS": settings.encryption_keys.get_secret_value(),
        "MEDIATION_LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-u", "-m", "mediation.cli", "crypto", "rekey", "--batch", "200"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    assert first.stdout is not None
    deadline = time.monotonic() + 120
    batches = 0
    while batches < 5 and time.monotonic() < deadline:
        if first.stdout.readline().startswith("batch done"):
            batches += 1
    first.send_signal(signal.SIGKILL)  # mid-run: no clean-up of any kind
    first.wait(30)
    [(gm_after_kill,)] = await sql(
        "SELECT count(*) FROM case_parties WHERE phone_hash LIKE 'sm3:%'"
    )
    assert 0 < gm_after_kill < before  # it was stopped half-way

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)  # noqa: ASYNC221
    assert again.returncode == 0, again.stderr
    assert "rekeyed to the gm profile" in again.stdout

    rows = await sql("SELECT phone, id_number, phone_hash, id_hash FROM case_parties")
    assert len(rows) == before  # nothing lost
    key = settings.pii_hash_key.get_secret_value()
    for phone, idn, phone_hash, id_hash in rows:
        if phone:
            assert phone_hash == keyed_hash(key, "phone", phone, CryptoProfile.gm)
        if idn:
            assert id_hash == keyed_hash(key, "id", idn, CryptoProfile.gm)
    cipher = FieldCipher.from_setting(settings.encryption_keys.get_secret_value())
    for call_id in calls:
        [(kid, blob, cid)] = await sql(
            "SELECT callback_key_id, callback_number_enc, id FROM hotline_calls WHERE id = :i",
            i=call_id,
        )
        assert kid.startswith("sm4:")
        assert cipher.decrypt(Sealed(kid, blob), context=cid.bytes) == "13912345678"
    # The administrators' second-factor secrets too, still bound to their accounts.
    sealed_secrets = await sql(
        "SELECT totp_key_id, totp_secret, id FROM users WHERE totp_secret IS NOT NULL"
    )
    assert sealed_secrets  # the demo administrators are enrolled
    for kid, blob, uid in sealed_secrets:
        assert kid.startswith("sm4:")
        secret = cipher.decrypt(Sealed(kid, blob), context=b"totp:" + uid.bytes)
        assert secret == settings.demo_totp_secret.get_secret_value()
    # A third run finds nothing left to do.
    idle = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)  # noqa: ASYNC221
    assert (
        "0 callback numbers, 0 party hashes, 0 second-factor secrets"
        in (idle.stdout.splitlines()[-1])
    )
