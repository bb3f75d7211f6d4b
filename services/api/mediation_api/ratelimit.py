"""Per-caller rate limit in Redis (fixed one-minute windows, shared by all API replicas).
When Redis is unreachable the limit is skipped for a few seconds instead of slowing or
failing requests: the API keeps taking writes while Redis is down.

Every counted response announces the quota (IETF draft "RateLimit header fields for HTTP"):
`RateLimit-Policy: "minute";q=600;w=60` and `RateLimit: "minute";r=<left>;t=<seconds to
the next window>`. The request middleware opens a `quota_holder` per request; a count
fills it, wherever in the request it happens."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from mediation.errors import TooManyRequests

log = logging.getLogger("mediation.api.ratelimit")

BREAKER_SECONDS = 5.0
POLICY = "minute"
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{POLICY}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{POLICY}";r={self.remaining};t={self.reset}',
        }


# A list per request (mutated, never re-set, so the middleware sees a count made in any
# task the request runs); None outside a request.
quota_holder: ContextVar[list[Quota] | None] = ContextVar("quota_holder", default=None)


# The count (INCR, EXPIRE) and the values of the keys to read (MGET) as one command: a
# pipeline of three costs the client (packing, one reply parsed per command) about a quarter
# more CPU per request. EVALSHA; redis-py loads the script again after NOSCRIPT (a restart,
# a failover).
_HIT = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 120)
if #KEYS > 1 then
    return {count, unpack(redis.call('MGET', unpack(KEYS, 2)))}
end
return {count}
"""


class RateLimiter:
    def __init__(self, redis: Redis, namespace: str, per_minute: int) -> None:
        self.redis = redis
        self.namespace = namespace
        self.per_minute = per_minute
        self._skip_until = 0.0
        self._hit = redis.register_script(_HIT)

    async def hit(self, caller: str, now: float, read: Sequence[str] = ()) -> list[Any] | None:
        """Counts a request of `caller`; 429 past the limit. The values of the keys `read`
        come back from the same round trip (None: Redis was not asked or did not answer)."""
        if time.monotonic() < self._skip_until:
            return None
        window = int(now // 60)
        key = f"{self.namespace}:rate:{caller}:{window}"
        try:
            count, *values = await self._hit(keys=[key, *read])
        except Exception as exc:
            self._skip_until = time.monotonic() + BREAKER_SECONDS
            log.warning("rate limit unavailable: %s", exc)
            return None
        reset = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        quota = Quota(self.per_minute, max(0, self.per_minute - int(count)), reset)
        holder = quota_holder.get()
        if holder is not None:
            holder.append(quota)
        if int(count) > self.per_minute:
            raise TooManyRequests(
                f"More than {self.per_minute} requests a minute; slow down.",
                headers={"Retry-After": str(reset), **quota.headers()},
            )
        return values
