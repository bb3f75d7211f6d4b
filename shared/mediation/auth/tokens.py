"""Access tokens: short-lived JWTs (HS256) carrying a key id, roles and scope, so a request
needs no database read to know who is calling; refresh tokens are opaque and stored hashed."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.errors import Unauthorized
from mediation.org.enums import Role

ISSUER = "mediation-center"
ALGORITHM = "HS256"
# Verified tokens kept per process: checking a signature and building the principal is a
# third of a millisecond, paid once per token instead of on every request. Emptied when full.
VERIFIED_CACHE_SIZE = 10_000


class TokenService:
    def __init__(self, keyring: list[tuple[str, str]], access_ttl: timedelta) -> None:
        if not keyring:
            raise ValueError("at least one signing key is required")
        self._keys = dict(keyring)
        self._signing_kid = keyring[0][0]
        self.access_ttl = access_ttl
        self._verified: dict[str, tuple[float, Principal]] = {}

    def issue(self, principal: Principal, now: datetime) -> tuple[str, int]:
        exp = now + self.access_ttl
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": f"{principal.kind}:{principal.id}",
            "name": principal.name,
            "iat": int(now.timestamp()),
            "exp": int(exp.timestamp()),
            "jti": secrets.token_hex(8),
            "roles": sorted(r.value for r in principal.roles),
            "perms": sorted(p.value for p in principal.permissions),
            "scope_paths": list(principal.scope_paths),
        }
        if principal.person_id:
            claims["person_id"] = str(principal.person_id)
        if principal.client_id:
            claims["client_id"] = principal.client_id
        if principal.session_id:
            claims["sid"] = str(principal.session_id)
        if principal.restriction:
            claims["restrict"] = principal.restriction
        token = jwt.encode(
            claims, self._keys[self._signing_kid], ALGORITHM, headers={"kid": self._signing_kid}
        )
        return token, int(self.access_ttl.total_seconds())

    def verify(self, token: str, now: datetime) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            exp, principal = known
            if exp <= now.timestamp():
                raise Unauthorized("The access token has expired.")
            return principal
        exp, principal = self._verify(token, now)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (exp, principal)
        return principal

    def _verify(self, token: str, now: datetime) -> tuple[float, Principal]:
        """(expiry, principal) of a token whose signature, issuer and expiry hold."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise Unauthorized("The access token is malformed.") from exc
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthorized("The access token was signed with an unknown key.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "require": ["exp", "sub", "iat"],
                },
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized("The access token is invalid.") from exc
        # Expiry (and issue time) against the service clock, movable in tests, not the wall clock.
        if claims["exp"] <= now.timestamp():
            raise Unauthorized("The access token has expired.")
        try:
            kind, _, ident = claims["sub"].partition(":")
            return claims["exp"], Principal(
                kind=kind,
                id=uuid.UUID(ident),
                name=claims.get("name", ""),
                roles=frozenset(Role(r) for r in claims.get("roles", [])),
                permissions=frozenset(Permission(p) for p in claims.get("perms", [])),
                scope_paths=tuple(claims.get("scope_paths", [])),
                person_id=uuid.UUID(claims["person_id"]) if claims.get("person_id") else None,
                client_id=claims.get("client_id"),
                token_id=claims.get("jti"),
                session_id=uuid.UUID(claims["sid"]) if claims.get("sid") else None,
                restriction=claims.get("restrict"),
                issued_at=int(claims["iat"]),
            )
        except (ValueError, KeyError) as exc:
            raise Unauthorized("The access token is invalid.") from exc


def new_refresh_token() -> tuple[str, str]:
    """Returns (token for the client, hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
