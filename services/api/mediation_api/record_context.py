"""What the routes of a domain's records share: the request's transaction, clock, settings and
caller (`RecordContext`), the domain's service over them, and the answer of a changed record
(its view, its ETag, its Location when created, stored for an `Idempotency-Key`).

A domain subclasses it with its service class, its records' address and `out` (the record as
the caller sees it); `context_dependency(TheContext, Caller)` is the route dependency, where
`Caller` is the permission the routes need (`Annotated[Principal, Depends(require(...))]`).
A service built the same way is given to routes the same way."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.clock import Clock
from mediation.contracts.etag import etag_of
from mediation.settings import Settings
from mediation_api.deps import CurrentPrincipal, Session, demand, required
from mediation_api.idempotency import IdempotencyGuard
from mediation_api.request_service import Versioned
from mediation_api.state import AppState

S = TypeVar("S")
R = TypeVar("R", bound=Versioned)
T = TypeVar("T")


@dataclass
class RecordContext(Generic[S, R]):
    session: AsyncSession
    clock: Clock
    settings: Settings
    principal: Principal

    # The domain's service class (built with the four fields above) and where its records
    # are read, e.g. "/api/v1/cases" (the Location of a created one).
    service_type: ClassVar[Callable[..., Any]]
    records_at: ClassVar[str]

    @property
    def service(self) -> S:
        service: S = self.service_type(self.session, self.clock, self.settings, self.principal)
        return service

    async def out(self, record: R) -> BaseModel | bytes:
        """The changed record as the caller sees it, read in this transaction (its model, or
        its JSON when the domain writes that itself)."""
        raise NotImplementedError

    async def respond(
        self, idem: IdempotencyGuard, record: R, status_code: int = 200, location: bool = False
    ) -> Response:
        headers = {"ETag": etag_of(record.id, record.version)}
        if location:
            headers["Location"] = f"{self.records_at}/{record.id}"
        return await idem.respond(
            self.session, await self.out(record), status_code=status_code, headers=headers
        )


def context_dependency(
    cls: Callable[[AsyncSession, Clock, Settings, Principal], T], caller: Any
) -> Callable[..., Coroutine[Any, Any, T]]:
    """The dependency giving routes a `cls` (a context, or a service built the same way) for
    the request's transaction and a caller that passed `caller`.

    FastAPI solves every sub-dependency on every request, cached or not, so this one takes
    the state from the request, and a `require(permission)` caller's check is made here
    (`demand`, on `CurrentPrincipal`) instead of by a dependency of its own; the permission
    is still declared on it for the contract and the access matrix. Same order as before:
    the transaction opens, then the caller is checked."""
    permission = required(caller)

    async def dependency(session: Any, request: Request, principal: Any) -> T:
        if permission is not None:
            demand(principal, permission)
        state: AppState = request.app.state.mediation
        return cls(session, state.clock, state.settings, principal)

    if permission is not None:
        dependency.permission = permission  # type: ignore[attr-defined]  # as `require`
        caller = CurrentPrincipal
    # Declared through the signature: the caller's annotation is a value, not a name.
    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
            for name, annotation in (
                ("session", Session),
                ("request", Request),
                ("principal", caller),
            )
        ],
        return_annotation=cls,
    )
    return dependency
