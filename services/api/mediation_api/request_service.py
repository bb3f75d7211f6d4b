"""The base of a domain's service: what one request gives it (its transaction, the clock,
the settings, the caller) and the domain's repository over that transaction. A router gets
the service with `service_dependency(TheService)`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.clock import Clock
from mediation.settings import Settings
from mediation_api.deps import CurrentPrincipal, Session, State

R = TypeVar("R")
S = TypeVar("S", bound="RequestService[Any]")


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

    async def dependency(session: Session, state: State, principal: CurrentPrincipal) -> S:
        return cls(session, state.clock, state.settings, principal)

    return dependency
