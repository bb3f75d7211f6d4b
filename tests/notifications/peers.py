"""Real local peers for the notification channels, bound to 127.0.0.1: an SMTP server
(aiosmtpd) and one HTTP server (uvicorn, in its own thread and event loop) playing the SMS
gateway, the WeCom group robot and any number of webhook receivers. Tests script answers per
path and read what arrived."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mediation_dev.services import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpPeer:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    # path -> statuses to answer in turn (then 200); WeCom answers JSON errcodes the same way.
    script: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *statuses: int) -> None:
        with self.lock:
            self.script[path].extend(statuses)

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.script.clear()
            self.delay = 0.0

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        with self.lock:
            self.received.append(Received(path, dict(request.headers), body, time.time()))
            queue = self.script.get(path)
            status = queue.popleft() if queue else 200
            delay = self.delay
        if delay:
            import asyncio

            await asyncio.sleep(delay)
        if path.startswith("/wecom"):
            # The robot answers 200 with an errcode; a scripted status is the errcode.
            code = 0 if status == 200 else status
            return JSONResponse({"errcode": code, "errmsg": "ok" if code == 0 else "error"})
        return JSONResponse({"ok": status < 300}, status_code=status)

    def start(self) -> HttpPeer:
        self.port = free_port()
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            loop="asyncio",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("HTTP peer did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


class _SmtpHandler:
    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.peer.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.peer.lock:
            self.peer.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@dataclass
class SmtpPeer:
    port: int = 0
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> SmtpPeer:
        self.port = free_port()
        self._controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.refuse.clear()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
