"""Life-cycle actions declared, not written out: `POST /{record}/{id}/{action}` with a typed
body, an If-Match precondition and an Idempotency-Key is the same request in every domain.
A router says what differs (the path, the body type, who may act, what the service does, how
the record is shown) and `action_route` writes the endpoint: replay a stored answer for a
repeated key, else run the change and answer it with its ETag, stored for the key. A POST
without a body (redeliver, recompute, issue a feed) is the same request less the body.

The endpoint's signature is built, not written, so that FastAPI sees real parameters (the
path id under its own name, the body's model, the dependencies) and the contract is exactly
what a hand-written endpoint gives."""

import inspect
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from mediation.contracts.etag import etag_of
from mediation_api.conditional import NOT_MODIFIED, IfNoneMatch, not_modified
from mediation_api.deps import IfMatch, get_principal
from mediation_api.idempotency import Idempotency, IdempotencyGuard, idempotency_guard


@dataclass(frozen=True)
class ActionCall:
    """One call of an action: the record's id, the body, the precondition, the idempotency
    guard, and the dependencies the route asked for, by name."""

    record_id: uuid.UUID | None
    body: Any
    if_match: str | None
    idem: IdempotencyGuard
    deps: dict[str, Any] = field(default_factory=dict)

    async def answer(
        self, out: Any, status_code: int = 200, *, record: Any = None, location: str = ""
    ) -> Response:
        """`out` answered and stored for the key in the route's transaction (its `session`
        dependency), with the record's ETag and a Location when given."""
        headers = {"ETag": etag_of(record.id, record.version)} if record is not None else {}
        if location:
            headers["Location"] = location
        response: Response = await self.idem.respond(
            self.deps["session"], out, status_code=status_code, headers=headers
        )
        return response


Handler = Callable[[ActionCall], Awaitable[Response]]


def action_route(
    router: APIRouter,
    path: str,
    *,
    id_name: str | None = None,
    id_description: str = "",
    body: type | None = None,
    precondition: bool = True,
    deps: Sequence[tuple[str, Any]],
    handle: Handler,
    method: str = "post",
    **route: Any,
) -> None:
    """Register `POST path` (or `method`) running `handle` once per intended change. A change
    of a record names its id parameter (`id_name`) and needs If-Match; a creation has
    neither (`precondition=False`). `deps` are (name, annotated dependency) pairs in the
    order the endpoint lists them (other path parameters too, e.g. a parent's id or a
    month); `route` is what `router.post` takes (operation_id, summary, description,
    responses, ...). Without `body` the endpoint takes none and the call's body is None."""

    async def endpoint(**kw: Any) -> Response:
        idem: IdempotencyGuard = kw["idem"]
        if (replay := await idem.replay()) is not None:
            return replay
        call = ActionCall(
            record_id=kw[id_name] if id_name else None,
            body=kw.get("body"),
            if_match=kw.get("if_match"),
            idem=idem,
            deps={name: kw[name] for name, _ in deps},
        )
        return await handle(call)

    def param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
        )

    params = []
    if id_name:
        params.append(param(id_name, Annotated[uuid.UUID, Path(description=id_description)]))
    if body is not None:
        params.append(param("body", body))
    params += [param(name, annotation) for name, annotation in deps]
    params.append(param("idem", Idempotency))
    if precondition:
        params.append(param("if_match", IfMatch, None))
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        params, return_annotation=Response
    )
    endpoint.__name__ = route["operation_id"].replace("-", "_")
    getattr(router, method)(path, **route)(endpoint)
    _check_signed_in_before_guard(router.routes[-1], route["operation_id"])


def _check_signed_in_before_guard(route: Any, operation_id: str) -> None:
    """The idempotency guard takes the caller `get_principal` found (`request.state`), so a
    dependency listed before it must sign the caller in: checked once, when the route is
    registered, rather than on every request."""
    stack = []
    for dependant in route.dependant.dependencies:
        if dependant.call is idempotency_guard:
            break
        stack.append(dependant)
    while stack:
        dependant = stack.pop()
        if dependant.call is get_principal:
            return
        stack.extend(dependant.dependencies)
    raise TypeError(f"{operation_id}: no dependency before the Idempotency-Key signs the caller in")


def context_action(method: str) -> Handler:
    """The usual handler: the route's context `ctx` (a domain's transaction, caller and
    service) runs its service's method of that name on (id, body, If-Match) and answers
    with the changed record (`ctx.respond`: the record as the caller sees it, its ETag)."""

    async def handle(call: ActionCall) -> Response:
        ctx = call.deps["ctx"]
        run = getattr(ctx.service, method)
        response: Response = await ctx.respond(
            call.idem, await run(call.record_id, call.body, call.if_match)
        )
        return response

    return handle


def context_create(method: str) -> Handler:
    """The usual creation: `ctx.service.<method>` on the body (and the parent's id, for a
    record made under another), answered 201 with the new record and its Location."""

    async def handle(call: ActionCall) -> Response:
        ctx = call.deps["ctx"]
        run = getattr(ctx.service, method)
        args = (call.body,) if call.record_id is None else (call.record_id, call.body)
        response: Response = await ctx.respond(call.idem, await run(*args), 201, location=True)
        return response

    return handle


# --- reading and plain changes of one record ------------------------------------------------
Shown = tuple[Any, Any]  # (the record, what the caller sees of it)


def _signature(params: list[inspect.Parameter], out: Any) -> inspect.Signature:
    return inspect.Signature(params, return_annotation=out)


def _kw(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def read_route(
    router: APIRouter,
    path: str,
    *,
    id_name: str,
    id_description: str,
    deps: Sequence[tuple[str, Any]],
    show: Callable[[dict[str, Any], uuid.UUID], Awaitable[Shown]],
    out: Any,
    **route: Any,
) -> None:
    """`GET path`: one record in the caller's scope (`show` loads it, 404 outside), with its
    ETag; 304 when `If-None-Match` names the current one."""

    async def endpoint(**kw: Any) -> Any:
        record, shown = await show({name: kw[name] for name, _ in deps}, kw[id_name])
        etag = etag_of(record.id, record.version)
        unchanged = not_modified(kw["if_none_match"], etag)
        if unchanged is not None:
            return unchanged
        kw["response"].headers["ETag"] = etag
        return shown

    endpoint.__signature__ = _signature(  # type: ignore[attr-defined]
        [
            _kw(id_name, Annotated[uuid.UUID, Path(description=id_description)]),
            *(_kw(name, annotation) for name, annotation in deps),
            _kw("response", Response),
            _kw("if_none_match", IfNoneMatch, None),
        ],
        out,
    )
    endpoint.__name__ = route["operation_id"].replace("-", "_")
    route["responses"] = {**NOT_MODIFIED, **route.get("responses", {})}
    router.get(path, **route)(endpoint)


def change_route(
    router: APIRouter,
    path: str,
    *,
    id_name: str,
    id_description: str,
    body: type,
    deps: Sequence[tuple[str, Any]],
    change: Callable[[dict[str, Any], uuid.UUID, Any, str | None], Awaitable[Shown]],
    out: Any,
    method: str = "patch",
    **route: Any,
) -> None:
    """`PATCH path` (or `method`): a change of one record under If-Match, answered with the
    record and its new ETag. For changes a retry may repeat safely (no Idempotency-Key)."""

    async def endpoint(**kw: Any) -> Any:
        deps_of = {name: kw[name] for name, _ in deps}
        record, shown = await change(deps_of, kw[id_name], kw["body"], kw["if_match"])
        kw["response"].headers["ETag"] = etag_of(record.id, record.version)
        return shown

    endpoint.__signature__ = _signature(  # type: ignore[attr-defined]
        [
            _kw(id_name, Annotated[uuid.UUID, Path(description=id_description)]),
            _kw("body", body),
            *(_kw(name, annotation) for name, annotation in deps),
            _kw("response", Response),
            _kw("if_match", IfMatch, None),
        ],
        out,
    )
    endpoint.__name__ = route["operation_id"].replace("-", "_")
    getattr(router, method)(path, **route)(endpoint)
    _check_signed_in_before_guard(router.routes[-1], route["operation_id"])


def service_show(get: str, out_method: str, **options: Any) -> Callable[..., Awaitable[Shown]]:
    """`show` for read_route: the route's `service` reads the record with `get` and shows it
    with `out_method` (which takes a list)."""

    async def show(deps: dict[str, Any], record_id: uuid.UUID) -> Shown:
        service = deps["service"]
        record = await getattr(service, get)(record_id)
        return record, (await getattr(service, out_method)([record], **options))[0]

    return show


def service_change(method: str, out_method: str) -> Callable[..., Awaitable[Shown]]:
    """`change` for change_route: the route's `service` changes the record with `method`
    (id, body, If-Match) and shows it with `out_method` (which takes a list)."""

    async def change(
        deps: dict[str, Any], record_id: uuid.UUID, body: Any, if_match: str | None
    ) -> Shown:
        service = deps["service"]
        record = await getattr(service, method)(record_id, body, if_match)
        return record, (await getattr(service, out_method)([record]))[0]

    return change
