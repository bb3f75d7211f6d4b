"""`Content-Disposition` for downloads (RFC 6266): the real (Chinese) name in `filename*`, and
an ASCII `filename` for clients that read only that one. The ASCII name is never what is left
of the real one once its Chinese characters are dropped ("220302-2026-0001-.pdf", ".jpg"):
callers give a meaningful ASCII stem when the real name has none of its own."""

from __future__ import annotations

import re
from urllib.parse import quote

_NOT_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def ascii_fallback(name: str, stem: str) -> str:
    """An ASCII file name for `name`: its own ASCII words if it has any (kept in order,
    separated by dashes), else `stem`; the extension is kept."""
    base, dot, ext = name.rpartition(".")
    if not dot or not base:
        base, ext = name, ""
    own = _NOT_SAFE.sub("-", base).strip("-._")
    # Only punctuation or digits left of a Chinese name say nothing about the file.
    if not re.search(r"[A-Za-z]", own):
        own = ""
    ext = _NOT_SAFE.sub("", ext)
    return f"{own or stem}.{ext}" if ext else own or stem


def content_disposition(name: str, ascii_name: str) -> str:
    return (
        f'attachment; filename="{ascii_fallback(ascii_name, "download")}"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )
