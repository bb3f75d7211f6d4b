"""Plain record routes declared, not written out: a list (`Page[Out]` of a keyset page), a read
or change answered with the record and its ETag (and `Location` for a creation), a removal
answered 204. A router says what differs (the parameters, who may call, what the service does,
how the record is shown); these builders write the endpoint.

As in `mediation_api.actions`, the endpoint's signature is built from the declared parameters
(the same names, annotations and defaults a hand-written endpoint lists, in its order), so the
contract is exactly what a hand-written endpoint gives. Records changed under an
`Idempotency-Key` or with a timeline go through `actions.action_route` instead."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Response

from mediation.contracts.common import Page
from mediation.contracts.etag import etag_of
from mediation_api.deps import IfMatch
from mediation_api.pagination import DEFAULT, Cursor, Limit, page_of

# (name, annotation) or (name, annotation, default): one parameter of the endpoint
Param = tuple[Any, ...]
Args = dict[str, Any]
# A list's rows: `fetch(args, limit, cursor)` gives the page's rows and the next cursor.
Fetch = Callable[[Args, int, str | None], Awaitable[tuple[Sequence[Any], str | None]]]


def _signature(params: Sequence[Param], out: Any) -> inspect.Signature:
    def param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
        kind = inspect.Parameter.KEYWORD_ONLY
        return inspect.Parameter(name, kind, annotation=annotation, default=default)

    return inspect.Signature([param(*p) for p in params], return_annotation=out)


def _register(
    router: APIRouter,
    method: str,
    path: str,
    endpoint: Callable[..., Awaitable[Any]],
    params: Sequence[Param],
    out: Any,
    route: dict[str, Any],
) -> None:
    endpoint.__signature__ = _signature(params, out)  # type: ignore[attr-defined]
    endpoint.__name__ = route["operation_id"].replace("-", "_")
    getattr(router, method)(path, **route)(endpoint)


def record_etag(record: Any) -> str:
    return etag_of(record.id, record.version)


def list_route(
    router: APIRouter,
    path: str,
    *,
    params: Sequence[Param],
    fetch: Fetch,
    out: type,
    show: Callable[[Any, Args], Any] | None = None,
    **route: Any,
) -> None:
    """`GET path`: a page of `out` (`fetch(args, limit, cursor)` gives the rows and the next
    cursor; each row shown by `show(row, args)` when given); `params` are the dependencies and
    filters before `limit` and `cursor`."""

    async def endpoint(**kw: Any) -> Any:
        rows, next_cursor = await fetch(kw, kw["limit"], kw["cursor"])
        if show is None:
            return page_of(out, (rows, next_cursor))
        return Page[out](items=[show(r, kw) for r in rows], next_cursor=next_cursor)

    every = [*params, ("limit", Limit, DEFAULT), ("cursor", Cursor, None)]
    _register(router, "get", path, endpoint, every, Page[out], route)


def record_route(
    router: APIRouter,
    method: str,
    path: str,
    *,
    params: Sequence[Param],
    run: Callable[[Args], Awaitable[Any]],
    out: Any,
    show: Callable[[Any, Args], Any] | None = None,
    etag: Callable[[Any], str] | None = record_etag,
    location: Callable[[Any, Args], str] | None = None,
    **route: Any,
) -> None:
    """`method path`: `run(args)` reads, creates or changes a record; the answer is the record
    shown as `out` (or by `show(record, args)`) with its ETag (unless `etag=None`), and its
    `Location` when given.
    `params` are the endpoint's parameters in order (path ids, body, dependencies, If-Match
    last); the response is added."""

    async def endpoint(**kw: Any) -> Any:
        record = await run(kw)
        headers = kw["response"].headers
        if etag is not None:
            headers["ETag"] = etag(record)
        if location is not None:
            headers["Location"] = location(record, kw)
        return show(record, kw) if show is not None else out.model_validate(record)

    every = [*(p for p in params if len(p) == 2), ("response", Response)]
    every += [p for p in params if len(p) > 2]  # parameters with a default come last
    _register(router, method, path, endpoint, every, out, route)


def removal_route(
    router: APIRouter,
    method: str,
    path: str,
    *,
    params: Sequence[Param],
    run: Callable[[Args], Awaitable[Any]],
    **route: Any,
) -> None:
    """`method path` answered 204 with no body once `run(args)` has removed or ended what the
    path names."""

    async def endpoint(**kw: Any) -> Response:
        await run(kw)
        return Response(status_code=204)

    _register(router, method, path, endpoint, params, Response, {"status_code": 204, **route})


@dataclass(frozen=True)
class PlainRecords:
    """One kind of plain record under `router`, named once: the collection at `path` (whose
    path parameters are `within`, e.g. a reference list's kind), one record at `path` and its
    `key` parameters, who reads and who writes (`readers`, `writers`: the dependencies in the
    order the endpoint lists them), and the answer: `out` (or `show(record, args)`) with its
    `etag`. Each route then says what it runs and its documentation (`route`: operation_id,
    summary, description, responses; `out`, `show` or `etag` where one route answers
    otherwise)."""

    router: APIRouter
    path: str
    key: Sequence[Param]
    out: type
    readers: Sequence[Param]
    writers: Sequence[Param]
    within: Sequence[Param] = ()
    show: Callable[[Any, Args], Any] | None = None
    etag: Callable[[Any], str] | None = record_etag

    @property
    def _item(self) -> str:
        return self.path + "".join(f"/{{{param[0]}}}" for param in self.key)

    def _route(
        self, method: str, path: str, params: Sequence[Param], run: Any, route: dict[str, Any]
    ) -> None:
        answer = {"out": self.out, "show": self.show, "etag": self.etag}
        record_route(self.router, method, path, params=params, run=run, **{**answer, **route})

    def list(self, params: Sequence[Param], fetch: Fetch, **route: Any) -> None:
        """`GET path`: a page (`fetch(args, limit, cursor)`) of the records the readers may
        see, filtered by `params`."""
        answer = {"out": self.out, "show": self.show, **route}
        list_route(
            self.router,
            self.path,
            params=[*self.within, *self.readers, *params],
            fetch=fetch,
            **answer,
        )

    def read(self, run: Callable[[Args], Awaitable[Any]], **route: Any) -> None:
        """`GET path/{key}`: `run(args)` reads the record in the caller's scope."""
        self._route("get", self._item, [*self.within, *self.key, *self.readers], run, route)

    def create(self, body: type, run: Callable[[Args], Awaitable[Any]], **route: Any) -> None:
        """`POST path`: `run(args)` makes the record from the body; 201."""
        params = [*self.within, ("body", body), *self.writers]
        self._route("post", self.path, params, run, {"status_code": 201, **route})

    def change(
        self,
        body: type | None,
        run: Callable[[Args], Awaitable[Any]],
        *,
        method: str = "patch",
        action: str = "",
        more: Sequence[Param] = (),
        **route: Any,
    ) -> None:
        """`PATCH path/{key}` (or `method`, at `path/{key}/action`): `run(args)` changes the
        record under If-Match, from the body when there is one; `more` are optional query
        parameters after If-Match."""
        params = [*self.within, *self.key, *([("body", body)] if body else [])]
        params += [*self.writers, ("if_match", IfMatch, None), *more]
        path = f"{self._item}/{action}" if action else self._item
        self._route(method, path, params, run, route)

    def remove(self, run: Callable[[Args], Awaitable[Any]], **route: Any) -> None:
        """`DELETE path/{key}` under If-Match, answered 204."""
        params = [*self.within, *self.key, *self.writers, ("if_match", IfMatch, None)]
        removal_route(self.router, "delete", self._item, params=params, run=run, **route)
