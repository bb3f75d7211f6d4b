"""The harness itself: after a test the database is back to its migrated state (seeded rows as
the migrations wrote them, no data, no table or sequence a test made), and a session's Redis
database is its own."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
import redis

from mediation.settings import Settings
from tests.support.databases import plain
from tests.support.redis_claim import CLAIM, OWNED, RedisClaim, RedisClaimError

SEEDED = ("calendar_days", "deadline_rules", "reference_items")


async def _state(conn: asyncpg.Connection) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for table in SEEDED:
        state[table] = await conn.fetchval(
            f"SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t"
        )
    state["units"] = await conn.fetchval("SELECT count(*) FROM units")
    state["tables"] = await conn.fetchval(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    )
    state["sequences"] = [
        tuple(r)
        for r in await conn.fetch(
            "SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename"
        )
    ]
    return state


async def test_the_reset_restores_the_migrated_state(settings: Settings, _reset: Any) -> None:
    conn = await asyncpg.connect(plain(settings.database_url))
    try:
        before = await _state(conn)
        assert before["units"] == 0
        # What tests do: change seeded rows, write data, make tables and sequences.
        await conn.execute("DELETE FROM calendar_days WHERE day >= '2026-01-01'")
        await conn.execute("UPDATE deadline_rules SET unit = 'hours', amount = 7")
        await conn.execute(
            "UPDATE reference_items SET label_zh = '改' WHERE code = 'other'; "
            "INSERT INTO reference_items (id, kind, code, label_zh, label_en, view_order, "
            "is_default, enabled, version) VALUES (gen_random_uuid(), 'hotline_topic', 'x', "
            "'新', 'New', 99, false, true, 1)"
        )
        await conn.execute(
            "INSERT INTO units (id, seq, code, name, level, path, active, version) "
            "VALUES (gen_random_uuid(), nextval('units_seq'), '999', '测试', 'city', '999/', "
            "true, 1)"
        )
        await conn.execute("CREATE SEQUENCE case_number_test_2026")
        await conn.execute("CREATE TABLE made_by_a_test (id int)")
        assert await _state(conn) != before

        _reset()

        assert await _state(conn) == before
    finally:
        await conn.close()


def test_a_redis_database_is_claimed_by_one_session_only(redis_claim: RedisClaim) -> None:
    other = RedisClaim(redis_claim.server_url).claim()
    try:
        assert other.db != redis_claim.db
        client = redis.Redis.from_url(other.url)
        try:
            client.set("job", "1")
            assert other.wipe() == 1
            assert client.exists("job") == 0 and client.exists(CLAIM) == 1
        finally:
            client.close()
    finally:
        other.release()


def test_a_database_holding_someone_elses_keys_is_not_taken(
    redis_claim: RedisClaim, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = RedisClaim(redis_claim.server_url).claim()
    client = redis.Redis.from_url(mine.url)
    try:
        # Make it look like another program's database: a key, and no claim.
        client.set("someone-elses", "1")
        mine.release()
        client.set("someone-elses", "1")
        monkeypatch.setenv("TEST_REDIS_DATABASES", str(mine.db))
        with pytest.raises(RedisClaimError):
            RedisClaim(redis_claim.server_url).claim()
        assert client.get("someone-elses") == b"1"  # left as it was
        assert client.exists(CLAIM) == 0
        # A database an earlier test run left (its marker) is reclaimed and emptied.
        client.set(OWNED, "1")
        again = RedisClaim(redis_claim.server_url).claim()
        assert again.db == mine.db and client.exists("someone-elses") == 0
        again.release()
        assert client.dbsize() == 0
    finally:
        client.delete("someone-elses", OWNED)
        client.close()
