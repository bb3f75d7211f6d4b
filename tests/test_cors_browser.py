"""Cross-origin access in a real browser: Debian's headless chromium loads a page served on
one port that fetches the API on another (with a bearer token, so the browser sends a real
preflight), once with the page's origin in MEDIATION_CORS_ORIGINS and once without it.
The protocol-level checks are in tests/test_cors_and_rate_headers.py."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from mediation.settings import Settings
from mediation_dev.clock import MovableClock
from tests.support.world import World

REF = "/api/v1/reference/dispute_category"


# --- a real browser ----------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serve_api(app: Any, port: int) -> Iterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(300):
            if server.started:
                break
            threading.Event().wait(0.05)
        assert server.started, "the API did not start"
        yield
    finally:
        server.should_exit = True
        thread.join(30)


@contextlib.contextmanager
def _serve_page(page: str, port: int) -> Iterator[None]:
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    _chromium() is None,
    reason="LOUD: Debian's `chromium` is not installed (apt-get install chromium; .ci/run "
    "installs it): the real-browser CORS test cannot run",
)
async def test_a_headless_browser_on_another_port_reads_the_api_cross_origin(
    settings: Settings, clock: MovableClock, world: World
) -> None:
    from mediation_api.main import create_app

    api_port, page_port = _free_port(), _free_port()
    origin = f"http://127.0.0.1:{page_port}"
    token = await world.token("dispatcher")
    page = f"""<!doctype html><html><body><pre id="out">pending</pre><script>
    (async () => {{
      const out = document.getElementById("out");
      try {{
        const r = await fetch("http://127.0.0.1:{api_port}{REF}", {{
          headers: {{ Authorization: "Bearer {token}" }},
        }});
        const body = await r.json();
        out.textContent = "RESULT" + JSON.stringify({{
          status: r.status,
          items: body.items.length,
          requestId: r.headers.get("X-Request-ID"),
        }}) + "END";
      }} catch (e) {{
        out.textContent = "RESULT" + JSON.stringify({{ error: String(e) }}) + "END";
      }}
    }})();
    </script></body></html>"""

    def browse() -> str:
        done = subprocess.run(
            [
                str(_chromium()),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--user-data-dir=/tmp/mediation-cors-chromium-" + str(page_port),
                "--virtual-time-budget=20000",
                "--dump-dom",
                f"{origin}/",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.stdout

    results = {}
    for allowed in (origin, "https://elsewhere.example"):
        app = create_app(settings.model_copy(update={"cors_origins": allowed}), clock)
        with _serve_api(app, api_port), _serve_page(page, page_port):
            dom = await asyncio.to_thread(browse)
        assert "RESULT" in dom, dom[-2000:]
        results[allowed] = json.loads(dom.split("RESULT", 1)[1].split("END", 1)[0])

    seen = results[origin]
    assert seen["status"] == 200, seen
    assert seen["items"] > 0
    assert seen["requestId"], "the exposed request id is readable by the page"
    # Served to another origin only: the browser refuses to hand the page the answer.
    assert "error" in results["https://elsewhere.example"], results
