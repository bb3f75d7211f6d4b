"""The drill's write load and its webhook/SMS receiver.

Every write carries a marker (in a case's title, a call's summary, a session's place) so it
can be found in the database afterwards, and an Idempotency-Key kept across its retries: a
retry after a lost answer replays the first result instead of writing again."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from mediation.settings import DEMO_TOTP_SECRET
from mediation_dev.demo import demo_code

API = "/api/v1"
CST = timezone(timedelta(hours=8))
BUILDING = "220302001001G01B01"
RETRYABLE = {502, 503, 504}
PASSWORD = "demo-password"


class Receiver:
    """Webhooks (`/hooks`, by webhook-id) and SMS (`/sms`, by the delivery id the gateway
    gets as its Idempotency-Key) as the outside world gets them."""

    def __init__(self) -> None:
        self.webhooks: Counter[str] = Counter()
        self.sms: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    if self.path.startswith("/hooks"):
                        receiver.webhooks[self.headers.get("webhook-id", "")] += 1
                    elif self.path.startswith("/sms"):
                        receiver.sms[str(json.loads(body or b"{}").get("id"))] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            # A gateway's backlog, not socketserver's 5: two workers' bursts of sends
            # otherwise wait out SYN retransmits (1 s, 3 s, ...) holding their rows.
            request_queue_size = 128

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Outcomes:
    accepted: dict[str, list[str]] = field(
        default_factory=lambda: {"case": [], "call": [], "session": []}
    )
    rejected: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    unavailable_s: float = 0.0  # answered 502/503/504 or no answer, until a write succeeds
    claim_wait_s: float = 0.0  # 409: the key is held by a request that died with its process
    _failing_since: float | None = None
    _waiting_since: float | None = None
    examples: list[str] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)  # monotonic times of accepted writes
    stopped_at: float | None = None  # when the clients were told to stop starting writes

    def silent_s(self, threshold: float = 1.0) -> float:
        """Seconds of the load in which no write was accepted at all (gaps longer than
        `threshold`), up to the stop (after it, only the last writes' retries run)."""
        end = self.stopped_at or time.monotonic()
        times = sorted(t for t in self.successes if t <= end)
        times.append(end)
        return sum(b - a - threshold for a, b in itertools.pairwise(times) if b - a > threshold)

    def failed(self) -> None:
        self.retries += 1
        if self._failing_since is None:
            self._failing_since = time.monotonic()

    def held(self) -> None:
        self.retries += 1
        if self._waiting_since is None:
            self._waiting_since = time.monotonic()

    def succeeded(self) -> None:
        now = time.monotonic()
        self.successes.append(now)
        if self._failing_since is not None:
            self.unavailable_s += now - self._failing_since
            self._failing_since = None
        if self._waiting_since is not None:
            self.claim_wait_s += now - self._waiting_since
            self._waiting_since = None

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.accepted.values())


@dataclass
class Load:
    base_url: str
    outcomes: Outcomes = field(default_factory=Outcomes)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    building: str = ""
    mediator: str = ""
    booking_cases: list[str] = field(default_factory=list)
    _n: int = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    async def _sign_in(self, c: httpx.AsyncClient, user: str) -> None:
        r = await c.post(
            f"{API}/auth/token",
            data={
                "grant_type": "password",
                "username": user,
                "password": PASSWORD,
                # The administrators' second factor (the demo secret; ignored by the others).
                "otp": demo_code(DEMO_TOTP_SECRET, datetime.now(UTC)),
            },
        )
        r.raise_for_status()
        self.tokens[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def setup(self, receiver: Receiver, building_id: str, cases_for_booking: int = 6) -> None:
        self.building = building_id
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as c:
            for user in ("grid_head", "dispatcher", "counselor", "system_admin", "mediator"):
                await self._sign_in(c, user)
            r = await c.post(
                f"{API}/webhooks",
                headers=self.tokens["system_admin"],
                json={
                    "name": "演练接收方",
                    "url": f"{receiver.url}/hooks",
                    "event_types": ["case.*", "session.*"],
                },
            )
            r.raise_for_status()
            me = (await c.get(f"{API}/me", headers=self.tokens["mediator"])).json()
            self.mediator = me["person_id"]
            head = self.tokens["dispatcher"]
            for i in range(cases_for_booking):
                r = await c.post(f"{API}/cases", headers=head, json=self._case(f"booking-{i}"))
                r.raise_for_status()
                case = r.json()
                for action, body in (
                    ("accept", {}),
                    ("assign", {"handlers": [{"person_id": self.mediator, "channel": "people"}]}),
                ):
                    r = await c.post(
                        f"{API}/cases/{case['id']}/{action}",
                        headers={**head, "If-Match": f'"{case["id"]}-{case["version"]}"'},
                        json=body,
                    )
                    r.raise_for_status()
                    case = r.json()
                self.booking_cases.append(case["id"])

    def _case(self, marker: str) -> dict[str, Any]:
        return {
            "title": f"演练纠纷 {marker}",
            "facts": "1号楼1单元502室卫生间漏水，楼下402室天花板受损，双方协商未果。",
            "claims": "要求修复漏水并赔偿维修费用。",
            "category": "neighbourhood",
            "source": "grid_report",
            "complexity": "simple",
            "risk_colour": "yellow",
            "unit_id": self.building,
            "parties": [
                {"kind": "person", "side": "applicant", "name": "张三", "phone": "13900001111"},
                {"kind": "person", "side": "respondent", "name": "李四", "phone": "13900002222"},
            ],
        }

    def _call(self, marker: str) -> dict[str, Any]:
        now = datetime.now(CST).replace(microsecond=0)
        return {
            "started_at": (now - timedelta(minutes=20)).isoformat(),
            "ended_at": (now - timedelta(minutes=5)).isoformat(),
            "channel": "phone",
            "call_type": "valid",
            "caller": {
                "anonymous": True,
                "age_band": "30_44",
                "gender": "female",
                "is_minor": False,
            },
            "topics": ["marriage_family"],
            "risk_level": "low",
            "risk_assessment": {
                "suicidal_desire": True,
                "desire_factors": ["hopelessness"],
                "suicidal_capability": False,
                "suicidal_intent": False,
                "buffers": ["social_support"],
            },
            "actions": ["counseling"],
            "summary": f"演练来电 {marker}",
        }

    def _session(self, n: int, marker: str) -> dict[str, Any]:
        day = datetime.now(CST).replace(hour=8, minute=0, second=0, microsecond=0)
        starts = day + timedelta(days=1, minutes=90 * n)
        return {
            "kind": "people",
            "mode": "on_site",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(minutes=60)).isoformat(),
            "place": f"演练调解室 {marker}",
            "mediators": [{"person_id": self.mediator}],
            "is_public": False,
            "privacy_reason": "party_request",
            "recording_consent": True,
            "rights_notice_given": True,
        }

    async def _write(
        self,
        c: httpx.AsyncClient,
        kind: str,
        path: str,
        user: str,
        body: dict[str, Any],
        marker: str,
    ) -> None:
        key = str(uuid.uuid4())
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                r = await c.post(
                    path, headers={**self.tokens[user], "Idempotency-Key": key}, json=body
                )
            except httpx.TransportError:
                self.outcomes.failed()
                await asyncio.sleep(0.5)
                continue
            if r.status_code in RETRYABLE:
                self.outcomes.failed()
                await asyncio.sleep(0.5)
                continue
            if r.status_code == 409 and "in progress" in r.text:
                self.outcomes.held()
                await asyncio.sleep(1)
                continue
            if r.status_code < 300:
                self.outcomes.succeeded()
                self.outcomes.accepted[kind].append(marker)
            else:
                self.outcomes.rejected[f"{kind} {r.status_code}"] += 1
                if len(self.outcomes.examples) < 5:
                    self.outcomes.examples.append(f"{kind} {r.status_code}: {r.text[:200]}")
            return
        self.outcomes.rejected[f"{kind} gave up"] += 1

    async def _lane(self, lane: int, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as c:
            while not stop.is_set():
                n = self._next()
                marker = f"m{n:06d}"
                if n % 10 < 5:
                    await self._write(
                        c, "case", f"{API}/cases", "grid_head", self._case(marker), marker
                    )
                elif n % 10 < 8:
                    await self._write(
                        c, "call", f"{API}/hotline/calls", "counselor", self._call(marker), marker
                    )
                else:
                    case = self.booking_cases[n % len(self.booking_cases)]
                    path = f"{API}/cases/{case}/sessions"
                    await self._write(
                        c, "session", path, "dispatcher", self._session(n, marker), marker
                    )

    async def run(self, lanes: int, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._lane(i, stop) for i in range(lanes)))
