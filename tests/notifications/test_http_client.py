"""The worker's small HTTP client against a raw local server: chunked and close-delimited
answers, a kept-alive connection the server closed meanwhile, no answer in time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from mediation_worker.notifications.http import Client, HttpError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return await reader.readexactly(length)


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        srv = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(srv)
        return f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/hook?x=1"

    yield start
    for srv in servers:
        srv.close()
        await srv.wait_closed()


async def test_chunked_then_close_delimited(server: Callable[[Handler], Awaitable[str]]) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await _read_request(reader) == b"one"
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"
        )
        assert await _read_request(reader) == b"two"  # the same connection, kept alive
        writer.write(b"HTTP/1.1 503 Busy\r\nConnection: close\r\n\r\ncome back later")
        writer.close()

    url = await server(handler)
    client = Client(timeout=5)
    first = await client.post(url, b"one", {"X-A": "1"})
    assert (first.status, first.body) == (200, b"Wikipedia")
    second = await client.post(url, b"two", {})
    assert (second.status, second.text) == (503, "come back later")
    await client.aclose()


async def test_a_closed_kept_alive_connection_is_replaced(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()  # says keep-alive, closes anyway

    url = await server(handler)
    client = Client(timeout=5)
    assert (await client.post(url, b"a", {})).status == 204
    await asyncio.sleep(0.05)
    assert (await client.post(url, b"b", {})).status == 204  # retried on a new connection
    await client.aclose()


async def test_no_answer_in_time_and_nobody_listening(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    url = await server(handler)
    client = Client(timeout=0.3)
    with pytest.raises(HttpError, match="no answer"):
        await client.post(url, b"x", {})
    with pytest.raises(HttpError, match="cannot connect"):
        await client.post("http://127.0.0.1:1/x", b"x", {})
    with pytest.raises(HttpError):
        await client.post("ftp://127.0.0.1/x", b"x", {})
    await client.aclose()
