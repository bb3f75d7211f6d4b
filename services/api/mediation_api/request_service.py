"""The base of a domain's service: what one request gives it (its transaction, the clock,
the settings, the caller) and the domain's repository over that transaction. A router gets
the service with `service_dependency(TheService)`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.clock import Clock
from mediation.contracts.etag import check_if_match
from mediation.settings import Settings
from mediation_api.deps import CurrentPrincipal, Session
from mediation_api.state import AppState

R = TypeVar("R")
S = TypeVar("S", bound="RequestService[Any]")


class Versioned(Protocol):
    id: uuid.UUID
    version: int


V = TypeVar("V", bound=Versioned)


class RequestService(Generic[R]):
    """Runs in the request's transaction (never commits). `repository` is the domain's
    repository class; `self.repo` is one over this transaction."""

    repository: ClassVar[Callable[[AsyncSession], Any]]

    def __init__(
        self, session: AsyncSession, clock: Clock, settings: Settings, principal: Principal
    ) -> None:
        self.session = session
        self.clock = clock
        self.settings = settings
        self.principal = principal
        self.repo: R = self.repository(session)


def service_dependency(cls: type[S]) -> Callable[..., Coroutine[Any, Any, S]]:
    """A FastAPI dependency building `cls` for the request (its transaction and caller)."""

    # The state from the request, not a `State` sub-dependency (solved on every request).
    async def dependency(session: Session, request: Request, principal: CurrentPrincipal) -> S:
        state: AppState = request.app.state.mediation
        return cls(session, state.clock, state.settings, principal)

    return dependency


async def for_change(get: Callable[..., Awaitable[V]], record_id: Any, if_match: str | None) -> V:
    """The record to change: read with `get` (404 outside the caller's scope) and locked
    (`for_update=True`), if If-Match names its current version (428 without, 412 stale)."""
    record = await get(record_id, for_update=True)
    check_if_match(if_match, record.id, record.version)
    return record
