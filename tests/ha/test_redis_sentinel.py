"""REDIS_URL naming Sentinels (issue 21, item 4), with real servers: a Redis master, its
replica and a Sentinel (redis-server --sentinel, as Debian's redis-sentinel runs it). The
master is shut down; the clients built from the one URL find the promoted replica."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from arq import create_pool

from mediation.redisconn import arq_settings, parse_sentinel, redis_client
from mediation_dev.services import free_port

REDIS = shutil.which("redis-server")


def test_a_sentinel_url_names_sentinels_master_and_database() -> None:
    found = parse_sentinel("redis+sentinel://:s%40cret@h1:26379,h2:26380/mymaster/3")
    assert found is not None
    assert found.sentinels == [("h1", 26379), ("h2", 26380)]
    assert (found.service, found.db, found.password) == ("mymaster", 3, "s@cret")
    assert parse_sentinel("redis://127.0.0.1:6379/0") is None
    settings = arq_settings("redis+sentinel://h1:26379/mymaster/2")
    assert settings.sentinel and settings.sentinel_master == "mymaster" and settings.database == 2


def _start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True)
        if proc.poll() is not None:  # could not bind: the port was taken after all
            raise RuntimeError(f"redis on {port} exited at start")
        if ping.stdout.strip() == b"PONG":
            return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"redis on {port} did not start")


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[dict[str, Any]]:
    if REDIS is None or shutil.which("redis-cli") is None:
        pytest.fail(
            "needs redis-server and redis-cli (Debian packages redis-server, redis-sentinel)"
        )
    master, replica, sentinel = free_port(), free_port(), free_port()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        # A replica's full sync writes the master's snapshot to its working directory even
        # with `--save ""`: each server gets its own tmp dir, never the repository root.
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        (tmp_path / "master").mkdir()
        (tmp_path / "replica").mkdir()
        procs["master"] = _start(
            [REDIS, "--port", str(master), *common, "--dir", str(tmp_path / "master")], master
        )
        procs["replica"] = _start(
            [
                *[REDIS, "--port", str(replica), *common, "--dir", str(tmp_path / "replica")],
                *["--replicaof", "127.0.0.1", str(master)],
            ],
            replica,
        )
        conf = tmp_path / "sentinel.conf"
        conf.write_text(
            f"port {sentinel}\nbind 127.0.0.1\ndir {tmp_path}\n"
            f"sentinel monitor mymaster 127.0.0.1 {master} 1\n"
            "sentinel down-after-milliseconds mymaster 1000\n"
            "sentinel failover-timeout mymaster 5000\n"
        )
        procs["sentinel"] = _start([REDIS, str(conf), "--sentinel"], sentinel)
        yield {"master": master, "replica": replica, "sentinel": sentinel, "procs": procs}
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _eventually(action: Any, attempts: int = 120) -> Any:
    """Retries through the failover (a client's requests fail until Sentinel promotes)."""
    last: BaseException | None = None
    for _ in range(attempts):
        try:
            return await action()
        except Exception as error:  # connection refused, READONLY, master not found
            last = error
            await asyncio.sleep(0.25)
    raise AssertionError(f"never succeeded: {last!r}")


async def _replicated(client: Any) -> int:
    acked = int(await client.execute_command("WAIT", 1, 1000))
    if acked < 1:
        raise RuntimeError("the replica has not caught up yet")
    return acked


async def _role(port: int) -> str:
    client = redis_client(f"redis://127.0.0.1:{port}/0")
    try:
        info = await client.info("replication")
        return str(info["role"])
    finally:
        await client.aclose()


async def test_clients_follow_a_redis_failover(sentinel_set: dict[str, Any]) -> None:
    url = f"redis+sentinel://127.0.0.1:{sentinel_set['sentinel']}/mymaster/0"
    client = redis_client(url, socket_timeout=2, socket_connect_timeout=2)
    arq = await create_pool(arq_settings(url))
    try:
        await client.set("before", "1")
        assert await _role(sentinel_set["master"]) == "master"
        assert await arq.enqueue_job("some_job", _job_id=f"job-before-{uuid.uuid4()}") is not None
        # Replication is asynchronous: wait for the replica to hold the writes so far.
        assert await _eventually(lambda: _replicated(client)) >= 1

        sentinel_set["procs"]["master"].kill()  # the master dies

        async def write_after() -> bool:
            return bool(await client.set("after", "2"))

        assert await _eventually(write_after)
        assert await _role(sentinel_set["replica"]) == "master"  # promoted, and found
        assert await client.get("before") == b"1"  # replicated before the failover

        async def enqueue_after() -> bool:
            # A try that failed mid-failover may have queued the job already: then it is there.
            queued = await arq.enqueue_job("some_job", _job_id="job-after")
            return queued is not None or bool(await arq.exists("arq:job:job-after"))

        assert await _eventually(enqueue_after)
        assert await arq.zcard("arq:queue") >= 1
    finally:
        await client.aclose()
        await arq.aclose()
