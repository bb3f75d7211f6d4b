"""Conditional reads (RFC 9110 §13.1.2): `If-None-Match` with the ETag a client holds answers
304 Not Modified without the body, so a client revalidates its copy cheaply. The record is
still loaded through the caller's scope first (a record the caller may not read stays a 404,
and reads that are logged stay logged)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Response

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=1000,
        description="The ETag of the copy you hold: 304 without a body while it is current.",
    ),
]

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "Not modified: the ETag sent in If-None-Match is current; use your copy.",
        "headers": {"ETag": {"description": "The current ETag.", "schema": {"type": "string"}}},
    }
}


def _opaque(tag: str) -> str:
    # If-None-Match compares weakly: W/"x" matches "x".
    return tag[2:] if tag.startswith("W/") else tag


def not_modified(if_none_match: str | None, etag: str) -> Response | None:
    """The 304 to answer instead of the record, or None when the client's copy is stale."""
    if not if_none_match:
        return None
    tags = {_opaque(t.strip()) for t in if_none_match.split(",") if t.strip()}
    if "*" in tags or _opaque(etag) in tags:
        return Response(status_code=304, headers={"ETag": etag})
    return None
