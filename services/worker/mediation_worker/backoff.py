"""The pause of a background loop after an error: it survives an outage of PostgreSQL or Redis
by retrying, 0.5 s after the first error, doubling up to 10 s, and from 0.5 s again once a
round succeeds."""

from __future__ import annotations

import asyncio
import contextlib
import logging

FIRST = 0.5
LONGEST = 10.0


class Backoff:
    def __init__(self, log: logging.Logger, loop: str) -> None:
        self.log = log
        self.loop = loop
        self.delay = FIRST

    def succeeded(self) -> None:
        self.delay = FIRST

    async def pause(self, stop: asyncio.Event, exc: Exception) -> None:
        """Logs the error and waits (less if `stop` is set meanwhile)."""
        self.log.warning("%s loop error, retrying in %.1fs: %s", self.loop, self.delay, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self.delay)
        self.delay = min(self.delay * 2, LONGEST)
