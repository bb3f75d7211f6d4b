"""A small HTTP/1.1 client for the outward channels (webhooks, SMS gateway, WeCom): POST a body,
read the status and the start of the answer, keep connections alive per host.

Why not httpx: on this workload httpx costs about 1.8 ms of CPU per request, more than all the
database work of a delivery; this costs a few hundredths of that. It does only what the
channels need: POST, Content-Length or chunked answers, keep-alive, one timeout per request,
http and https. Redirects are not followed (a redirect could point anywhere)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_BODY = 64 * 1024  # more is not read: the excerpt is all we keep
MAX_HEADER = 64 * 1024


class HttpError(Exception):
    """The request did not get an answer (connection, timeout, protocol)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Client:
    def __init__(self, timeout: float, per_host: int = 32) -> None:
        self.timeout = timeout
        self._idle: dict[tuple[str, str, int], list[Conn]] = defaultdict(list)
        self._limits: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._per_host = per_host
        self._tls = ssl.create_default_context()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{port}"
        if ":" in parts.hostname and not host.startswith("["):  # IPv6 literal
            host = f"[{parts.hostname}]" + ("" if parts.port is None else f":{port}")
        lines = [
            f"POST {target} HTTP/1.1",
            f"Host: {host}",
            f"Content-Length: {len(body)}",
            "Connection: keep-alive",
        ]
        lines += [
            f"{k}: {v}"
            for k, v in headers.items()
            if k.lower() not in ("host", "content-length", "connection")
        ]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        limit = self._limits.setdefault(key, asyncio.Semaphore(self._per_host))
        async with limit:
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._exchange(key, request)
            except TimeoutError as exc:
                raise HttpError(f"no answer within {self.timeout:g}s") from exc

    async def _exchange(self, key: tuple[str, str, int], request: bytes) -> Response:
        reused = bool(self._idle[key])
        conn = self._idle[key].pop() if reused else await self._open(key)
        try:
            response, keep = await self._send(conn, request)
        except (OSError, EOFError, ValueError, HttpError) as exc:  # EOF: IncompleteReadError
            self._close(conn)
            if not reused:
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc
            # A kept-alive connection the server had closed: once more on a new one.
            conn = await self._open(key)
            try:
                response, keep = await self._send(conn, request)
            except (OSError, EOFError, ValueError, HttpError) as exc2:
                self._close(conn)
                raise HttpError(f"{type(exc2).__name__}: {exc2}") from exc2
            except BaseException:
                self._close(conn)
                raise
        except BaseException:
            self._close(conn)  # cancelled mid-exchange: the connection state is unknown
            raise
        if keep:
            self._idle[key].append(conn)
        else:
            self._close(conn)
        return response

    async def _open(self, key: tuple[str, str, int]) -> Conn:
        scheme, host, port = key
        try:
            return await asyncio.open_connection(
                host,
                port,
                ssl=self._tls if scheme == "https" else None,
                server_hostname=host if scheme == "https" else None,
                limit=MAX_HEADER,
            )
        except (OSError, ssl.SSLError) as exc:
            raise HttpError(f"cannot connect to {host}:{port}: {exc}") from exc

    async def _send(self, conn: Conn, request: bytes) -> tuple[Response, bool]:
        reader, writer = conn
        writer.write(request)
        await writer.drain()
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError as exc:
                raise HttpError("answer headers too large") from exc
            status_line, _, rest = head.decode("latin-1").partition("\r\n")
            version, _, tail = status_line.partition(" ")
            if not version.startswith("HTTP/1.") or len(tail) < 3 or not tail[:3].isdigit():
                raise HttpError(f"not an HTTP answer: {status_line[:80]!r}")
            status = int(tail[:3])
            if status >= 200 or status == 101:
                break  # 1xx (100 Continue...) are skipped
        headers: dict[str, str] = {}
        for line in rest.split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if status in (204, 304) or 100 <= status < 200:
            return Response(status, b""), keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body, complete = await self._chunked(reader)
            return Response(status, body), keep and complete
        if "content-length" in headers:
            length = int(headers["content-length"])
            body = await reader.readexactly(min(length, MAX_BODY))
            return Response(status, body), keep and length <= MAX_BODY
        body = bytearray()  # no length: the body ends when the server closes the connection
        while len(body) < MAX_BODY:
            chunk = await reader.read(MAX_BODY - len(body))
            if not chunk:
                break
            body += chunk
        return Response(status, bytes(body)), False

    async def _chunked(self, reader: asyncio.StreamReader) -> tuple[bytes, bool]:
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # trailers are not used: the final CRLF
                return bytes(body), True
            if len(body) + size > MAX_BODY:
                return bytes(body), False  # too long to keep reading: drop the connection
            body += await reader.readexactly(size)
            await reader.readexactly(2)

    @staticmethod
    def _close(conn: Conn) -> None:
        with contextlib.suppress(Exception):
            conn[1].close()

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                self._close(conn)
        self._idle.clear()
