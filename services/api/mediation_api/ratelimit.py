"""Per-caller rate limit in Redis (fixed one-minute windows, shared by all API replicas).
When Redis is unreachable the limit is skipped for a few seconds instead of slowing or
failing requests: the API keeps taking writes while Redis is down."""

from __future__ import annotations

import logging
import math
import time

from redis.asyncio import Redis

from mediation.errors import TooManyRequests

log = logging.getLogger("mediation.api.ratelimit")

BREAKER_SECONDS = 5.0


class RateLimiter:
    def __init__(self, redis: Redis, namespace: str, per_minute: int) -> None:
        self.redis = redis
        self.namespace = namespace
        self.per_minute = per_minute
        self._skip_until = 0.0

    async def hit(self, caller: str, now: float) -> None:
        if time.monotonic() < self._skip_until:
            return
        window = int(now // 60)
        key = f"{self.namespace}:rate:{caller}:{window}"
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        except Exception as exc:
            self._skip_until = time.monotonic() + BREAKER_SECONDS
            log.warning("rate limit unavailable: %s", exc)
            return
        if int(count) > self.per_minute:
            retry = max(1, math.ceil((window + 1) * 60 - now))
            raise TooManyRequests(
                f"More than {self.per_minute} requests a minute; slow down.",
                headers={"Retry-After": str(retry)},
            )
