"""Short-lived signed download links. A browser cannot send the bearer token with a plain link,
so an authorised reader asks for a link and the link itself carries the authority: which
attachment, until when, issued to whom, signed with HMAC-SHA256.

The key is derived from `settings.secret_key` for this purpose only (domain separation: the
same secret also signs tokens, and a signature made for one must never pass as the other)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime


class BadLink(ValueError):
    """The link was not issued by this service, was altered, or has expired."""


@dataclass(frozen=True)
class LinkGrant:
    attachment_id: uuid.UUID
    expires: int  # Unix seconds
    actor_kind: str
    actor_id: uuid.UUID
    actor_name: str


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"mediation/attachment-download/v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, grant: LinkGrant) -> str:
    """The `token` query value: base64url(payload) "." base64url(HMAC)."""
    payload = json.dumps(
        {
            "a": str(grant.attachment_id),
            "e": grant.expires,
            "k": grant.actor_kind,
            "i": str(grant.actor_id),
            "n": grant.actor_name,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    body = _b64(payload)
    return body + "." + _b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest())


def verify(secret: str, token: str, attachment_id: uuid.UUID, now: datetime) -> LinkGrant:
    """The grant of a valid, unexpired token for this attachment; BadLink otherwise."""
    body, _, signature = token.partition(".")
    try:
        given = _unb64(signature)
    except ValueError as exc:
        raise BadLink("The download link is not valid.") from exc
    expected = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()
    if not body or not hmac.compare_digest(given, expected):
        raise BadLink("The download link is not valid.")
    try:
        data = json.loads(_unb64(body))
        grant = LinkGrant(
            attachment_id=uuid.UUID(data["a"]),
            expires=int(data["e"]),
            actor_kind=str(data["k"]),
            actor_id=uuid.UUID(data["i"]),
            actor_name=str(data["n"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BadLink("The download link is not valid.") from exc
    # A link for another attachment is as invalid as a forged one.
    if grant.attachment_id != attachment_id:
        raise BadLink("The download link is not valid.")
    if now.timestamp() >= grant.expires:
        raise BadLink("The download link has expired; ask for a new one.")
    return grant
