"""/docs and /redoc served with assets from this service: the center's intranet has no CDN.

Each page gets a Content-Security-Policy allowing this service's own scripts and the page's
inline script by its SHA-256 (computed from the page itself, so an upgrade of FastAPI's
template cannot silently break it or widen it)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(fastapi_offline.__file__).parent / "static"
_INLINE = re.compile(r"<script>(.*?)</script>", re.S)


def page_policy(html: str) -> str:
    """The policy of a docs page: own origin only; its inline scripts by hash. Swagger UI and
    ReDoc set inline styles, ReDoc runs its search in a blob: worker and both show data: images."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}".rstrip() + "; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "worker-src 'self' blob:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def install(app: FastAPI) -> dict[str, str]:
    """Mounts the pages and their assets; answers each page's policy by path."""
    app.mount("/static-docs", StaticFiles(directory=STATIC), name="static-docs")
    swagger_page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="综治中心 API",
        swagger_js_url="/static-docs/swagger-ui-bundle.js",
        swagger_css_url="/static-docs/swagger-ui.css",
        swagger_favicon_url="/static-docs/favicon.png",
        init_oauth={"clientId": "", "usePkceWithAuthorizationCodeGrant": False},
    ).body
    redoc_page = get_redoc_html(
        openapi_url="/openapi.json",
        title="综治中心 API",
        redoc_js_url="/static-docs/redoc.standalone.js",
        redoc_favicon_url="/static-docs/favicon.png",
        with_google_fonts=False,
    ).body

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return HTMLResponse(swagger_page)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_page)

    return {
        "/docs": page_policy(bytes(swagger_page).decode()),
        "/redoc": page_policy(bytes(redoc_page).decode()),
    }
