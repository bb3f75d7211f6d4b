"""FastAPI's dependency resolution alone, for the write routes' tree before (13 nodes:
`State` three times, the caller twice, `require`'s own dependency) and after (7): the same
shapes with trivial bodies on a bare app (`paramcache` applied), called through ASGI in
process. Prints CPU µs per request, rounds alternated (docs/performance.md, "FastAPI's
dependencies on the write routes").

    .venv/bin/python -m bench.write_deps"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.security import OAuth2PasswordBearer

from mediation_api import paramcache

paramcache.apply()
oauth2 = OAuth2PasswordBearer(tokenUrl="/t", auto_error=False)


async def check(request: Request) -> None:
    return None


app = FastAPI(dependencies=[Depends(check)])


async def app_state(request: Request) -> Any:
    return request.app


State = Annotated[Any, Depends(app_state)]


async def principal(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Any:
    request.state.principal = token
    return token


Caller = Annotated[Any, Depends(principal)]
Key = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


async def session_old(state: State) -> AsyncIterator[int]:
    yield 1


async def session_new(request: Request) -> AsyncIterator[int]:
    yield 1


async def require_old(p: Caller) -> Any:
    return p


async def ctx_old(
    s: Annotated[int, Depends(session_old, scope="function")],
    state: State,
    p: Annotated[Any, Depends(require_old)],
) -> int:
    return 1


async def ctx_new(
    s: Annotated[int, Depends(session_new, scope="function")], request: Request, p: Caller
) -> int:
    return 1


async def idem_old(
    request: Request, state: State, p: Caller, key: Key = None
) -> AsyncIterator[int]:
    yield 1


async def idem_new(request: Request, key: Key = None) -> AsyncIterator[int]:
    yield 1


@app.post("/old/{i}")
async def old(
    i: int,
    c: Annotated[int, Depends(ctx_old)],
    g: Annotated[int, Depends(idem_old)],
    if_match: IfMatch = None,
) -> Response:
    return Response(b"{}")


@app.post("/new/{i}")
async def new(
    i: int,
    c: Annotated[int, Depends(ctx_new)],
    g: Annotated[int, Depends(idem_new)],
    if_match: IfMatch = None,
) -> Response:
    return Response(b"{}")


async def _call(path: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", b"Bearer x"), (b"if-match", b'"a"'), (b"host", b"t")],
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
        "app": app,
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    await app(scope, receive, send)


async def main(rounds: int = 5, n: int = 3000) -> None:
    results: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(rounds):
        for side, costs in results.items():
            for _ in range(300):  # warm-up
                await _call(f"/{side}/1")
            start = time.process_time()
            for _ in range(n):
                await _call(f"/{side}/1")
            costs.append((time.process_time() - start) / n * 1e6)
    for side, costs in results.items():
        runs = " / ".join(f"{c:.0f}" for c in costs)
        print(f"{side}: {runs} µs CPU per request (median {statistics.median(costs):.0f})")


if __name__ == "__main__":
    asyncio.run(main())
