"""/metrics with several API processes on one port (issue 23): whichever process answers the
scrape, the figures are those of all of them (multiprocess mode, set up by `mediation-api`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mediation.settings import Settings
from mediation_dev.services import free_port
from tests.notifications.processes import wait_for

POOL = 3
PROCESSES = 2


@pytest.fixture
def api(settings: Settings, tmp_path: object) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "MEDIATION_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "MEDIATION_ARQ_QUEUE": settings.arq_queue,
        "MEDIATION_API_WORKERS": str(PROCESSES),
        "MEDIATION_DB_POOL_SIZE": str(POOL),
        "PORT": str(port),
        "MEDIATION_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from mediation_api.main import run; run()"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def scrape(base: str) -> dict[str, float]:
    # A new connection each time: any process may answer.
    text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
    return {
        s.name + str(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def healthz_count(m: dict[str, float]) -> float:
    key = "http_requests_total" + str(
        sorted({"method": "GET", "route": "/healthz", "status": "200"}.items())
    )
    return m.get(key, 0.0)


def test_every_scrape_shows_all_processes(api: str) -> None:
    def ready() -> bool:
        try:
            m = scrape(api)
        except httpx.HTTPError:
            return False
        # Both processes started: their pools' gauges add up.
        return m.get("mediation_db_pool_connections_max[]") == PROCESSES * POOL * 2

    wait_for(ready, 120, "both API processes")
    for _ in range(30):
        assert httpx.get(f"{api}/healthz", headers={"Connection": "close"}).status_code == 200
    for _ in range(6):
        m = scrape(api)
        assert healthz_count(m) == 30
        assert m["mediation_db_pool_connections_max[]"] == PROCESSES * POOL * 2
