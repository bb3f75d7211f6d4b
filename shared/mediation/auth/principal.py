"""Who is calling: a signed-in person or another system, with permissions and a scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from mediation.auth.policy import Permission
from mediation.org.enums import Role


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "client"
    id: uuid.UUID
    name: str
    roles: frozenset[Role]
    permissions: frozenset[Permission]
    # Unit paths whose subtrees this principal may see; a record is in scope when its
    # unit path starts with one of them.
    scope_paths: tuple[str, ...]
    person_id: uuid.UUID | None = None
    client_id: str | None = None
    token_id: str | None = None
    # The sign-in session (auth_sessions.id) the token belongs to; None for clients and for
    # tokens limited to a first step.
    session_id: uuid.UUID | None = None
    # A token that may only do one thing before a full sign-in: "password_change" or
    # "mfa_enrolment" (mediation.auth.restrictions); it carries no roles or permissions.
    restriction: str | None = None
    issued_at: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def requester(self) -> tuple[str, uuid.UUID, str]:
        """(kind, id, name) as records say who asked (a system by its client id)."""
        return self.kind, self.id, self.client_id or self.name

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def in_scope(self, unit_path: str | None) -> bool:
        return unit_path is not None and any(unit_path.startswith(p) for p in self.scope_paths)
