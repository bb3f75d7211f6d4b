"""Text PostgreSQL cannot hold: the NUL character (U+0000, `character_not_in_repertoire`) and,
in JSON, an unpaired surrogate escape ("\ud800", which is no character and cannot be encoded
as UTF-8), on the ORM's connections and on the read pool alike. Refused once, here, before any
route runs: a 422 naming the field, for the path, every query parameter and JSON, form and
text bodies (multipart fields: `casefiles/upload.py`). Query strings cannot carry a surrogate:
they are decoded as UTF-8 with replacement."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from mediation.errors import Unprocessable

DETAIL = (
    "Text must not contain the NUL character (\\u0000) or an unpaired surrogate (\\ud800-\\udfff)."
)
# A JSON string escape of NUL or of a surrogate after an even number of backslashes.
_JSON_SUSPECT = re.compile(rb"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F])")


def refuse(field: str) -> Unprocessable:
    return Unprocessable(DETAIL, field=field)


def bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate
        return True
    return False


def _in_json(value: Any, path: str) -> str | None:
    """The dotted path of the first string (or key) PostgreSQL cannot hold."""
    if isinstance(value, str):
        return path if bad_text(value) else None
    if not isinstance(value, dict | list):
        return None
    items: Any = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if bad_text(str(key)):
            return f"{path}.{key}"
        found = _in_json(item, f"{path}.{key}")
        if found:
            return found
    return None


def _query_field(encoded: bytes) -> str:
    """`query.q` for `q=a%00b`: the first parameter holding a NUL."""
    pairs = parse_qsl(encoded.decode("latin-1"), keep_blank_values=True)
    name = next((k for k, v in pairs if "\x00" in k + v), None)
    return f"query.{name}" if name else "query"


async def refuse_nul(request: Request) -> None:
    """An application-wide dependency (runs before every route's own dependencies)."""
    if "\x00" in request.url.path:
        raise refuse("path")
    query = request.scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        raise refuse(_query_field(query))
    ctype = request.headers.get("content-type", "").lower()
    if ctype.startswith("multipart/") or not (
        request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    ):
        return
    if ctype.startswith("application/x-www-form-urlencoded"):
        # FastAPI parsed it already for a form route (cached); reading the raw body now
        # would find the stream consumed.
        form = await request.form()
        name = next((k for k, v in form.multi_items() if bad_text(f"{k}{v}")), None)
        if name is not None:
            raise refuse(f"body.{name}")
        return
    raw = await request.body()  # cached: the route reads the same bytes
    if "json" in ctype:
        if _JSON_SUSPECT.search(raw) is None:
            return
        try:
            found = _in_json(json.loads(raw), "body")
        except ValueError:  # not JSON after all: the route's own parsing says so
            return
        if found is not None:  # (else a paired surrogate escape: an emoji)
            raise refuse(found)
        return
    if b"\x00" in raw:
        raise refuse("body")
