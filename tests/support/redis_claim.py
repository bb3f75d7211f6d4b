"""A Redis database of one's own on a shared server.

arq keeps its job keys (`arq:job:*`, `arq:in-progress:*`, ...) outside any queue prefix, so
two test sessions in one database would see and delete each other's jobs. Each test session
(each xdist worker) therefore claims a whole database: `SET claim NX` with a TTL a thread
refreshes, so a crashed session's claim lapses. A database is taken only when it is empty or
holds what an earlier harness session left (its `owned` marker); anything else in it belongs
to someone else, and the claim moves on. Clean-ups run as scripts that first check the claim
is still ours, and delete everything in the database but the claim itself.
"""

from __future__ import annotations

import os
import threading
import uuid
from urllib.parse import urlsplit, urlunsplit

import redis

CLAIM = "mediation-test:claim"
OWNED = "mediation-test:owned"  # no TTL: "a harness session used this database"
TTL_SECONDS = 120
REFRESH_SECONDS = 10

# KEYS is fine here: the database is ours and small.
_WIPE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local n = 0
for _, k in ipairs(redis.call('KEYS', '*')) do
  if k ~= KEYS[1] and k ~= KEYS[2] then redis.call('DEL', k); n = n + 1 end
end
return n
"""
_REFRESH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('EXPIRE', KEYS[1], ARGV[2])
"""
_UNCLAIM = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for _, k in ipairs(redis.call('KEYS', '*')) do redis.call('DEL', k) end
return 1
"""


class RedisClaimError(RuntimeError):
    pass


def _with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def _url_db(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def _parse_ranges(spec: str) -> list[int]:
    """`"1,8-11"` -> [1, 8, 9, 10, 11]."""
    out: list[int] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def candidates(url: str, count: int, spec: str | None = None) -> list[int]:
    """The databases to try, in order: TEST_REDIS_DATABASES when set, else every database of
    the server starting at the one the URL names."""
    if spec:
        return _parse_ranges(spec)
    start = _url_db(url)
    return [(start + i) % count for i in range(count)]


class RedisClaim:
    """The database this session holds; `url` names it."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.db: int | None = None
        self._client: redis.Redis | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    @property
    def url(self) -> str:
        assert self.db is not None, "not claimed"
        return _with_db(self.server_url, self.db)

    def claim(self) -> RedisClaim:
        probe = redis.Redis.from_url(_with_db(self.server_url, 0))
        try:
            try:
                count = int(probe.config_get("databases").get("databases", 16))
            except redis.ResponseError:  # CONFIG disabled on this server
                count = 16
        finally:
            probe.close()
        tried = candidates(self.server_url, count, os.environ.get("TEST_REDIS_DATABASES"))
        for db in tried:
            client = redis.Redis.from_url(_with_db(self.server_url, db))
            if self._take(client):
                self.db, self._client = db, client
                self._thread = threading.Thread(
                    target=self._refresh_loop, name="redis-claim", daemon=True
                )
                self._thread.start()
                return self
            client.close()
        raise RedisClaimError(
            f"no free Redis database on {self.server_url} (tried {tried}); "
            "set TEST_REDIS_DATABASES to databases nobody else uses"
        )

    def _take(self, client: redis.Redis) -> bool:
        if not client.set(CLAIM, self.owner, nx=True, ex=TTL_SECONDS):
            return False
        # Empty but for our claim, or left by an earlier harness session: ours.
        if client.dbsize() == 1 or client.exists(OWNED):
            client.set(OWNED, "1")
            client.eval(_WIPE, 2, CLAIM, OWNED, self.owner)
            return True
        client.eval(_UNCLAIM, 1, CLAIM, self.owner)  # someone else's data: leave it
        return False

    def _refresh_loop(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            try:
                assert self._client is not None
                if not self._client.eval(_REFRESH, 1, CLAIM, self.owner, TTL_SECONDS):
                    self.lost = True
            except redis.RedisError:
                pass  # a blip: the TTL leaves time for the next round

    def wipe(self) -> int:
        """Deletes every key of the session's database but the claim."""
        assert self._client is not None
        n = int(self._client.eval(_WIPE, 2, CLAIM, OWNED, self.owner))
        if n < 0 or self.lost:
            raise RedisClaimError(f"lost the claim on Redis database {self.db}")
        return n

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._client is not None:
            try:
                self._client.eval(_RELEASE, 1, CLAIM, self.owner)
            finally:
                self._client.close()
                self._client = None
