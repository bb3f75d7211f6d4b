"""A record's plain routes declared, not written: record it (`POST`, 201 with its ETag and
Location, `Idempotency-Key`), read it (`GET` with its ETag, 304 for `If-None-Match`), correct
it (`PATCH` under If-Match). A router names the record once (`RecordRoutes`: paths, id, the
answer's model, who may read and write, the service) and then each route by what differs (the
body type, the service's method, its documentation); `mediation_api.actions` builds the
endpoints.

    slots = RecordRoutes(rota, "", "slot_id", "The slot's id.", DutySlotOut, "slots_out",
                         Svc, readers=(Reader,), writers=(Writer,))
    slots.read("get_slot", Doc("duty-rota-get", "Read a duty slot", "One slot with its ETag.",
                               responses(401, 403, 404, 422)))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Response

from mediation_api.actions import (
    ActionCall,
    action_route,
    change_route,
    read_route,
    service_change,
    service_show,
)
from mediation_api.deps import Session
from mediation_api.plain_routes import Args, Param, list_route

# The rows of a list's page and the next page's cursor.
Rows = tuple[Sequence[Any], str | None]

API = "/api/v1"


@dataclass(frozen=True)
class Doc:
    """What a route says of itself in the contract."""

    operation_id: str
    summary: str
    description: str
    responses: dict[int | str, Any]


@dataclass(frozen=True)
class RecordRoutes:
    """One kind of record under `router`: the collection at `path`, one record at
    `path/{id_name}`, shown by the service's `shown` method (which takes a list). `readers`
    and `writers` are the caller's dependencies (permission checks) in the order they run."""

    router: APIRouter
    path: str
    id_name: str
    id_description: str
    out: type
    shown: str
    service: Any
    readers: Sequence[Any]
    writers: Sequence[Any]

    def _deps(self, guards: Sequence[Any], *more: tuple[str, Any]) -> list[tuple[str, Any]]:
        return [
            *((f"_{i}", guard) for i, guard in enumerate(guards)),
            ("service", self.service),
            *more,
        ]

    def _one(self, doc: Doc) -> dict[str, Any]:
        """What a route about one record (`path/{id}`) is given."""
        return {
            "router": self.router,
            "path": f"{self.path}/{{{self.id_name}}}",
            "id_name": self.id_name,
            "id_description": self.id_description,
            "out": self.out,
            **_route(doc),
        }

    def create(self, body: type, method: str, doc: Doc) -> None:
        """`POST path`: the service's `method` on the body; 201 with the record's Location."""
        shown, location = self.shown, f"{API}{self.router.prefix}{self.path}/"

        async def handle(call: ActionCall) -> Response:
            service = call.deps["service"]
            record = await getattr(service, method)(call.body)
            (out,) = await getattr(service, shown)([record])
            return await call.answer(out, 201, record=record, location=f"{location}{record.id}")

        action_route(
            self.router,
            self.path,
            body=body,
            precondition=False,
            deps=self._deps(self.writers, ("session", Session)),
            handle=handle,
            status_code=201,
            response_model=self.out,
            **_route(doc),
        )

    def action(self, name: str, body: type, method: str, doc: Doc) -> None:
        """`POST path/{id}/name`: a life-cycle step, the service's `method` (id, body,
        If-Match), answered with the record and its ETag; `Idempotency-Key` replays."""
        shown = self.shown

        async def handle(call: ActionCall) -> Response:
            service = call.deps["service"]
            record = await getattr(service, method)(call.record_id, call.body, call.if_match)
            (out,) = await getattr(service, shown)([record])
            return await call.answer(out, record=record)

        action_route(
            self.router,
            f"{self.path}/{{{self.id_name}}}/{name}",
            id_name=self.id_name,
            id_description=self.id_description,
            body=body,
            deps=self._deps(self.writers, ("session", Session)),
            handle=handle,
            response_model=self.out,
            **_route(doc),
        )

    def list(
        self,
        params: Sequence[Param],
        fetch: Callable[[Any, Args, int, str | None], Awaitable[Rows]],
        doc: Doc,
        readers: Sequence[Any] | None = None,
    ) -> None:
        """`GET path`: a page of the records in the caller's scope, `fetch(service, args,
        limit, cursor)` with the filters `params`, shown by the service's `shown` method.
        `readers` replaces the record's own for the list (a hidden record's read answers 404,
        its list 403)."""
        shown = self.shown

        async def page(args: Args, limit: int, cursor: str | None) -> Rows:
            service = args["service"]
            rows, next_cursor = await fetch(service, args, limit, cursor)
            return await getattr(service, shown)(list(rows)), next_cursor

        list_route(
            self.router,
            self.path,
            params=[*self._deps(self.readers if readers is None else readers), *params],
            fetch=page,
            out=self.out,
            show=lambda out, _: out,
            **_route(doc),
        )

    def read(self, method: str, doc: Doc, **options: Any) -> None:
        """`GET path/{id}`: the service's `method` reads the record in the caller's scope;
        `options` go to the service's `shown` method."""
        read_route(
            deps=self._deps(self.readers),
            show=service_show(method, self.shown, **options),
            **self._one(doc),
        )

    def update(self, body: type, method: str, doc: Doc) -> None:
        """`PATCH path/{id}`: the service's `method` (id, body, If-Match) corrects it."""
        change_route(
            body=body,
            deps=self._deps(self.writers),
            change=service_change(method, self.shown),
            **self._one(doc),
        )


def _route(doc: Doc) -> dict[str, Any]:
    return {
        "operation_id": doc.operation_id,
        "summary": doc.summary,
        "description": doc.description,
        "responses": doc.responses,
    }
