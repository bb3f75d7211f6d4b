"""`Idempotency-Key` for POSTs that create or act (API.md), stored in PostgreSQL.

Per caller and key: the first request claims the key in its own short transaction (so a
concurrent duplicate sees it at once and gets 409); the response is stored in the request's
own transaction, so a stored response exists exactly when the change was committed. The same
key with the same method, path and body replays the stored response (header
`Idempotent-Replayed: true`); with anything else it is a 422. A request that fails releases
its key, so the caller can retry. Keys are kept 24 hours.

Routes get this from `mediation_api.actions.action_route` (declared, with or without a body);
what it writes in each endpoint is::

    async def create(body: XIn, session: Session, idem: Idempotency, ...) -> Response:
        if (replay := await idem.replay()) is not None:
            return replay
        ... change things ...
        return await idem.respond(session, XOut(...), status_code=201, headers={...})

Declare `response_model=XOut` on the route so the contract documents the body.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.errors import Conflict, Unprocessable, rule_code
from mediation.idempotency import KEEP_HOURS, IdempotencyKey
from mediation_api.state import AppState

log = logging.getLogger("mediation.api.idempotency")

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEY_IN_PROGRESS = rule_code(
    "idempotency-key-in-progress",
    "A request with this Idempotency-Key is still in progress: retry after `Retry-After`.",
)
KEY_REUSED = rule_code(
    "idempotency-key-reused", "This Idempotency-Key was used for another request: use a new key."
)
# A claim older than this may be taken over by a retry with the same request: its request
# died with its process (or runs far longer than any should). Safe however early: the first
# request stores its response only while the claim is still its own (`respond`, a fence on
# `locked_at`), so of the two at most one commits. Was 2 minutes: after an API process was
# killed, its clients' retries got 409 that long (the HA drill's lanes waited 113 s).
STALE_AFTER = timedelta(seconds=30)
_KEPT_HEADERS = ("etag", "location")
_CLAIM_ATTEMPTS = 3
# Releases that failed (no database: a failover) are tried again this often until they
# succeed or the claim is stale anyway; the set keeps those tasks from the garbage collector.
RELEASE_RETRY_SECONDS = 1.0
_RELEASES: set[asyncio.Task[None]] = set()


class IdempotencyGuard:
    def __init__(
        self, request: Request, state: AppState, principal: Principal, key: str | None
    ) -> None:
        self.request = request
        self.state = state
        self.owner = f"{principal.kind}:{principal.id}"
        self.key = key
        self.claimed = False
        self.completed = False
        self._hash: str | None = None
        self._locked_at: datetime | None = None  # this request's claim (the fence)

    async def _request_hash(self) -> str:
        raw = await self.request.body()
        try:  # the same JSON in another key order or spacing is the same body
            canonical = json.dumps(
                json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        except (ValueError, UnicodeDecodeError):
            canonical = raw
        digest = hashlib.sha256()
        digest.update(f"{self.request.method} {self.request.url.path}\n".encode())
        digest.update(canonical)
        return digest.hexdigest()

    async def replay(self) -> Response | None:
        """The stored response of an earlier identical request, or None after claiming the
        key for this one (or when no key was sent)."""
        if self.key is None:
            return None
        self._hash = await self._request_hash()
        now = self.state.clock.now()
        async with self.state.sessions() as s, s.begin():
            row = None
            for _ in range(_CLAIM_ATTEMPTS):
                claimed = await s.scalar(
                    insert(IdempotencyKey)
                    .values(
                        owner=self.owner,
                        key=self.key,
                        method=self.request.method,
                        path=self.request.url.path,
                        request_hash=self._hash,
                        state="in_progress",
                        headers={},
                        created_at=now,
                        locked_at=now,
                        expires_at=now + timedelta(hours=KEEP_HOURS),
                    )
                    .on_conflict_do_nothing()
                    .returning(IdempotencyKey.key)
                )
                if claimed is not None:
                    self.claimed, self._locked_at = True, now
                    return None
                row = (
                    await s.scalars(
                        select(IdempotencyKey)
                        .where(IdempotencyKey.owner == self.owner, IdempotencyKey.key == self.key)
                        .with_for_update()
                    )
                ).one_or_none()
                if row is not None:
                    break
                # The request holding the key failed and released it between the insert and
                # the read: the key is free again, claim it.
            if row is None:  # released and taken again, repeatedly: a crowd of retries
                raise Conflict(
                    f"A request with this {HEADER} is still in progress; retry in a moment.",
                    headers={"Retry-After": "1"},
                    code=KEY_IN_PROGRESS,
                )
            expired = row.expires_at <= now
            stale = row.state == "in_progress" and row.locked_at <= now - STALE_AFTER
            if expired or (stale and row.request_hash == self._hash):
                row.method, row.path = self.request.method, self.request.url.path
                row.request_hash, row.state = self._hash, "in_progress"
                row.status_code, row.headers, row.body = None, {}, None
                row.created_at = row.locked_at = now
                row.expires_at = now + timedelta(hours=KEEP_HOURS)
                self.claimed, self._locked_at = True, now
                return None
            if row.request_hash != self._hash:
                raise Unprocessable(
                    f"This {HEADER} was already used for another request; use a new key.",
                    field=f"header.{HEADER}",
                    code=KEY_REUSED,
                )
            if row.state != "completed" or row.body is None or row.status_code is None:
                raise Conflict(
                    f"A request with this {HEADER} is still in progress; retry in a moment.",
                    headers={"Retry-After": "1"},
                    code=KEY_IN_PROGRESS,
                )
            headers = {**row.headers, REPLAYED: "true"}
            return Response(
                row.body,
                status_code=row.status_code,
                headers=headers,
                media_type="application/json",
            )

    async def respond(
        self,
        session: AsyncSession,
        body: BaseModel | bytes,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """The response for `body` (a model, or JSON already written, e.g. the case view's);
        stored with the request's transaction when a key is held."""
        # Pydantic's own serializer: the same JSON as FastAPI's (by alias, UTF-8, compact),
        # without first building the `jsonable_encoder` tree (5% of an intake's CPU).
        content = body if isinstance(body, bytes) else body.model_dump_json(by_alias=True).encode()
        response = Response(
            content, status_code=status_code, headers=headers, media_type="application/json"
        )
        if self.claimed:
            kept = {k: v for k, v in (headers or {}).items() if k.lower() in _KEPT_HEADERS}
            stored = await session.execute(
                update(IdempotencyKey)
                .where(*self._ours())
                .values(state="completed", status_code=status_code, headers=kept, body=content)
            )
            if stored.rowcount != 1:  # type: ignore[attr-defined]
                # A retry took the stale claim over and runs the change itself: this one
                # must not commit (the route's transaction rolls back with this error).
                raise Conflict(
                    f"A newer request with this {HEADER} took over; its answer is the one "
                    "kept: repeat the request to get it.",
                    headers={"Retry-After": "1"},
                    code=KEY_IN_PROGRESS,
                )
            self.completed = True
        return response

    def _ours(self) -> tuple[Any, ...]:
        """The key's row while the claim is still this request's (not taken over)."""
        return (
            IdempotencyKey.owner == self.owner,
            IdempotencyKey.key == self.key,
            IdempotencyKey.state == "in_progress",
            IdempotencyKey.locked_at == self._locked_at,
        )

    async def release(self) -> None:
        """Forget the claim of a request that failed, so the caller can retry with the key.
        When the database cannot be reached (the request failed because the primary went
        away), the release is tried again in the background until a primary answers: the
        caller's retry then finds the key free within moments of the failover, instead of a
        409 until the claim is stale (STALE_AFTER). Only an unfinished claim is deleted: a
        request whose commit went through stored its response in the same transaction."""
        if not self.claimed or self.key is None:
            return
        if await self._delete_claim():
            return
        task = asyncio.create_task(self._release_later(), name="idempotency-release")
        _RELEASES.add(task)
        task.add_done_callback(_RELEASES.discard)

    async def _delete_claim(self, *, quiet: bool = False) -> bool:
        try:
            async with self.state.sessions() as s, s.begin():
                await s.execute(delete(IdempotencyKey).where(*self._ours()))
            return True
        except Exception:
            if not quiet:
                log.warning("could not release idempotency key, retrying", exc_info=True)
            return False

    async def _release_later(self) -> None:
        deadline = time.monotonic() + STALE_AFTER.total_seconds()
        while time.monotonic() < deadline:
            await asyncio.sleep(RELEASE_RETRY_SECONDS)
            if await self._delete_claim(quiet=True):
                log.info("idempotency key released after the database came back")
                return


def key_header(description: str) -> Any:
    """The `Idempotency-Key` request header as a parameter: the same rules wherever it is
    taken, in words that fit the request."""
    return Annotated[
        str | None,
        Header(
            alias=HEADER,
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description=description,
        ),
    ]


Key = key_header(
    "A unique key per intended change (e.g. a UUID). Repeating a request with "
    "the same key and body returns the stored response; kept 24 hours."
)


async def idempotency_guard(request: Request, key: Key = None) -> AsyncIterator[IdempotencyGuard]:
    """The guard for the caller a dependency before it signed in (`get_principal` sets
    `request.state.principal`; `action_route` checks when it registers a route that one
    does): not a `CurrentPrincipal` and `State` of its own, which FastAPI would solve again
    on every request, cached or not."""
    principal: Principal = request.state.principal
    guard = IdempotencyGuard(request, request.app.state.mediation, principal, key)
    try:
        yield guard
    except BaseException:
        await guard.release()
        raise
    if guard.claimed and not guard.completed:
        await guard.release()  # the route answered without storing: nothing to replay


Idempotency = Annotated[IdempotencyGuard, Depends(idempotency_guard)]
