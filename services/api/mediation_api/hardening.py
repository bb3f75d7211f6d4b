"""Response headers an assessor checks on every answer (GB/T 22239 入侵防范, OWASP ASVS V14):
no MIME sniffing, no referrer, no framing, nothing personal kept in a cache unless the route
says otherwise, and a Content-Security-Policy (the API's answers run nothing; /docs and
/redoc run only this service's own scripts, so they keep working offline)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# JSON answers are never documents: a browser opening one runs and loads nothing.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeadersMiddleware:
    """Adds the headers to every answer (errors and 304s included). `page_csp` maps a path
    (the docs pages) to its own policy; `no_store_prefix` is where answers carry personal
    data: `Cache-Control: no-store` unless the route declared its own caching."""

    def __init__(self, app: ASGIApp, page_csp: dict[str, str], no_store_prefix: str) -> None:
        self.app = app
        self.page_csp = page_csp
        self.no_store_prefix = no_store_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = self.page_csp.get(path, API_CSP).encode()
        no_store = path.startswith(self.no_store_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                present = {k.lower() for k, _ in headers}
                extra = [(k, v) for k, v in ALWAYS if k not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", csp))
                if no_store and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
