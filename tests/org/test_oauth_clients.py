"""The token endpoint as a standard OAuth2 client library uses it (Authlib): client
authentication by HTTP Basic (its default, `client_secret_basic`, which RFC 6749 §2.3.1
requires servers to support) or in the form, the password grant, and errors it understands
(RFC 6749 §5.2) instead of a problem document taken for a token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from mediation.auth.models import ApiClient
from mediation.auth.passwords import hash_password
from tests.support.world import PASSWORD, World

TOKEN = "http://testserver/api/v1/auth/token"
SECRET = "s3cret:with/odd+chars"


@pytest.fixture
async def police(world: World, db: Any) -> str:
    async with db() as session, session.begin():
        session.add(
            ApiClient(
                client_id="police-110",
                name="110联动",
                secret_hash=hash_password(SECRET),
                scopes=["cases:create", "cases:read"],
                unit_id=world.unit("220302").id,
            )
        )
    return "police-110"


def oauth(app: Any, method: str = "client_secret_basic", **kw: Any) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        token_endpoint_auth_method=method,
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        **kw,
    )


async def test_client_credentials_by_basic_and_by_form(
    app: Any, client: httpx.AsyncClient, police: str
) -> None:
    for method in ("client_secret_basic", "client_secret_post"):
        async with oauth(app, method, client_id=police, client_secret=SECRET) as c:
            token = await c.fetch_token(TOKEN, grant_type="client_credentials", scope="cases:read")
            assert token["token_type"] == "bearer" and token["scope"] == "cases:read"
            me = await client.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}
            )
            assert me.status_code == 200, (method, me.text)
    # Basic with both parts form-encoded, as RFC 6749 §2.3.1 writes it, works too.
    r = await client.post(
        TOKEN, data={"grant_type": "client_credentials"}, auth=(police, quote(SECRET, safe=""))
    )
    assert r.status_code == 200, r.text


async def test_errors_are_what_oauth_clients_read(
    app: Any, client: httpx.AsyncClient, police: str
) -> None:
    async with oauth(app, client_id=police, client_secret="wrong-secret") as c:
        with pytest.raises(OAuthError) as caught:
            await c.fetch_token(TOKEN, grant_type="client_credentials")
        assert caught.value.error == "invalid_client"
    async with oauth(app, client_id=police, client_secret=SECRET) as c:
        with pytest.raises(OAuthError) as caught:
            await c.fetch_token(TOKEN, grant_type="client_credentials", scope="users:write")
        assert caught.value.error == "invalid_scope"
    # The raw answers: 401 with a Basic challenge for the client, 400 for the rest.
    r = await client.post(
        TOKEN, data={"grant_type": "client_credentials"}, auth=(police, "wrong-secret")
    )
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    assert r.json()["error"] == "invalid_client" and r.json()["error_description"]
    for form, error in (
        ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
        ({"username": "dispatcher"}, "invalid_request"),
        ({"grant_type": "password", "username": "dispatcher"}, "invalid_request"),
    ):
        r = await client.post(TOKEN, data=form)
        assert r.status_code == 400 and r.json()["error"] == error, (form, r.text)
        assert r.headers["cache-control"] == "no-store"
    # Two client authentications at once are refused (RFC 6749 §2.3).
    r = await client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_id": police, "client_secret": SECRET},
        auth=(police, SECRET),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_the_password_grant_with_a_standard_client(app: Any, world: World) -> None:
    async with oauth(app, "none", client_id="frontend") as c:
        token = await c.fetch_token(TOKEN, username="dispatcher", password=PASSWORD)
        assert token["access_token"] and token["refresh_token"]
        with pytest.raises(OAuthError) as caught:
            await c.fetch_token(TOKEN, username="dispatcher", password="wrong-password")
        assert caught.value.error == "invalid_grant"


async def test_text_no_database_can_hold_is_an_invalid_request(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        TOKEN, data={"grant_type": "password", "username": "disp\x00atcher", "password": "x"}
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    assert "NUL" in r.json()["error_description"]
