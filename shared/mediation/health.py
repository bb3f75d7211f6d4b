"""The worker heartbeat both services agree on (arq's own health check runs only hourly)."""

from __future__ import annotations


def heartbeat_key(queue_name: str) -> str:
    return f"{queue_name}:worker-heartbeat"
