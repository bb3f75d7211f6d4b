"""Who is asking and from where, for the request being served: set once by the API (the
request middleware and the principal dependency) and read by the audit trail and the
sign-in throttle, so no router passes them along."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    roles: tuple[str, ...]
    client_id: str | None  # an integration client's id; None for staff


# The caller's address as seen through the trusted proxies (mediation_api.clientip).
client_ip_var: ContextVar[str | None] = ContextVar("client_ip", default=None)
actor_var: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)
