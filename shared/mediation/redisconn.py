"""REDIS_URL for one Redis (`redis://host:6379/0`) or for Sentinels watching a master
(`redis+sentinel://[:password@]s1:26379,s2:26379/mymaster/0`, issue 21 item 4). With
Sentinels every new connection asks them for the current master, so the API (rate limiting,
login counters, the worker heartbeat) and arq follow a Redis failover by themselves.

Nothing is lost in a failover: PostgreSQL's outbox holds every event until the relay has
queued it, and the outbox sweep queues again what a lost arq job held (docs/deployment.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from arq.connections import RedisSettings
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"


@dataclass(frozen=True)
class SentinelURL:
    sentinels: list[tuple[str, int]]
    service: str
    db: int
    password: str | None


def parse_sentinel(url: str) -> SentinelURL | None:
    """None for a plain redis:// URL."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        return None
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    password = unquote(userinfo.partition(":")[2]) or None if userinfo else None
    sentinels = []
    for item in hostlist.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host:
            host, port = port, "26379"
        sentinels.append((host, int(port or 26379)))
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise ValueError(
            "REDIS_URL with Sentinels names the master: redis+sentinel://h:26379/mymaster/0"
        )
    db = int(segments[1]) if len(segments) > 1 else 0
    return SentinelURL(sentinels, segments[0], db, password)


def redis_client(url: str, **kwargs: Any) -> Redis:
    """A client that connects lazily: to the URL's server, or to the master the Sentinels name."""
    found = parse_sentinel(url)
    if found is None:
        client: Redis = Redis.from_url(url, **kwargs)
        return client
    socket = {k: v for k, v in kwargs.items() if k.startswith("socket_")}
    sentinel = Sentinel(
        found.sentinels, sentinel_kwargs=socket, db=found.db, password=found.password, **kwargs
    )
    master: Redis = sentinel.master_for(found.service)
    return master


def arq_settings(url: str) -> RedisSettings:
    found = parse_sentinel(url)
    if found is None:
        return RedisSettings.from_dsn(url)
    return RedisSettings(
        host=found.sentinels,  # type: ignore[arg-type]
        sentinel=True,
        sentinel_master=found.service,
        database=found.db,
        password=found.password,
    )
