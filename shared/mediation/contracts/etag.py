"""Optimistic concurrency: ETags derived from a record's version, checked against If-Match."""

from __future__ import annotations

from mediation.errors import PreconditionFailed, PreconditionRequired


def etag_of(ident: object, version: int) -> str:
    return f'"{ident}-{version}"'


def check_if_match(if_match: str | None, ident: object, version: int) -> None:
    if not if_match:
        raise PreconditionRequired("Send If-Match with the ETag you last read.")
    current = etag_of(ident, version)
    candidates = {c.strip().removeprefix("W/") for c in if_match.split(",")}
    if current not in candidates and "*" not in candidates:
        raise PreconditionFailed(
            "The resource changed since you read it; read it again.", current_etag=current
        )
