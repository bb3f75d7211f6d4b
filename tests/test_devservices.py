"""The embedded PostgreSQL and Redis behind `make run` and the tests are real servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import psutil
from redis.asyncio import Redis

from mediation_dev.services import DevServices, free_port, temporary_services


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_alive(pid) for pid in pids)


async def test_temporary_services_are_real_servers_and_leave_nothing_behind() -> None:
    with temporary_services() as services:
        data_dir = services.data_dir
        pids = services.pids()
        assert len(pids) >= 2  # postmaster (+ helpers) and redis-server

        conn = await asyncpg.connect(services.database_url)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            await conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
            assert await conn.fetchval("SELECT similarity('调解中心', '调解中心A')") > 0
            # What btree_gist is for here: no two sessions in one room at overlapping times.
            await conn.execute(
                "CREATE TABLE booking (room int, during tstzrange,"
                " EXCLUDE USING gist (room WITH =, during WITH &&))"
            )
            await conn.execute(
                "INSERT INTO booking VALUES (1, '[2026-01-05 09:00+08, 2026-01-05 10:00+08)')"
            )
            try:
                await conn.execute(
                    "INSERT INTO booking VALUES (1, '[2026-01-05 09:30+08, 2026-01-05 11:00+08)')"
                )
            except asyncpg.ExclusionViolationError:
                pass
            else:
                raise AssertionError("overlapping booking was accepted")
            assert await conn.fetchval("SHOW server_encoding") == "UTF8"
        finally:
            await conn.close()

        redis = Redis.from_url(services.redis_url)
        try:
            assert await redis.ping()
            await redis.set("devservices:probe", "ok")
            assert await redis.get("devservices:probe") == b"ok"
        finally:
            await redis.aclose()

    assert _gone(pids), f"still running: {[p for p in pids if _alive(p)]}"
    assert not data_dir.exists()


def test_start_reuses_leftovers_and_recovers_from_a_crash(tmp_path: Path) -> None:
    pg_port, redis_port = free_port(), free_port()
    ports = ["--pg-port", str(pg_port), "--redis-port", str(redis_port)]
    # A run that exits without stopping its servers, as a crashed `make run` would.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mediation_dev.services",
            "--data-dir",
            str(tmp_path),
            *ports,
            "start",
        ],
        check=True,
        capture_output=True,
    )
    services = DevServices(tmp_path, pg_port, redis_port)
    try:
        assert services.postgres is not None and services.redis is not None
        left_pg, left_redis = services.postgres.pid(), services.redis.pid()
        assert left_pg is not None and left_redis is not None

        services.start()  # reuses what is running
        assert (services.postgres.pid(), services.redis.pid()) == (left_pg, left_redis)
        _psql(services, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        _redis_cli(services, "SET", "kept", "still here")

        # The servers crash; their pid files stay behind.
        os.kill(left_pg, signal.SIGKILL)
        os.kill(left_redis, signal.SIGKILL)
        assert _gone([left_pg, left_redis])
        services.stop()
        services.start()
        assert services.postgres.pid() not in (None, left_pg)
        assert _psql(services, "SELECT v FROM kept") == "still here"
        assert _redis_cli(services, "GET", "kept") == "still here"
        pids = services.pids()
    finally:
        services.stop()
    assert _gone(pids)
    assert services.pids() == []


def _psql(services: DevServices, sql: str) -> str:
    assert services.postgres is not None
    return subprocess.run(
        [str(services.postgres.bin / "psql"), "-XtAq", "-d", services.database_url, "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _redis_cli(services: DevServices, *command: str) -> str:
    # redis-py's sync client: this test is about processes, not the event loop.
    import redis

    client = redis.Redis.from_url(services.redis_url, decode_responses=True)
    try:
        return str(client.execute_command(*command))
    finally:
        client.close()
