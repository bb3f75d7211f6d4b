"""Optimistic concurrency: ETags derived from a record's version, checked against If-Match.

Only the strong current ETag protects a change: `If-Match: *` matches whatever is there and a
weak tag (`W/"..."`) says "roughly this version", so either would let a client overwrite a
change it never saw (a lost update). Both are refused as missing preconditions (428)."""

from __future__ import annotations

from mediation.errors import PreconditionFailed, PreconditionRequired


def etag_of(ident: object, version: int) -> str:
    return f'"{ident}-{version}"'


def check_if_match(if_match: str | None, ident: object, version: int) -> None:
    if not if_match or not if_match.strip():
        raise PreconditionRequired("Send If-Match with the ETag you last read.")
    tags = [t.strip() for t in if_match.split(",") if t.strip()]
    if "*" in tags:
        raise PreconditionRequired(
            "`If-Match: *` does not protect a change; send the ETag you last read."
        )
    strong = [t for t in tags if not t.startswith("W/")]
    if not strong:
        raise PreconditionRequired(
            "A weak ETag (`W/...`) does not protect a change; send the strong ETag you last "
            "read (exactly as the `ETag` header gave it)."
        )
    current = etag_of(ident, version)
    if current not in strong:
        raise PreconditionFailed(
            "The resource changed since you read it; read it again.", current_etag=current
        )
