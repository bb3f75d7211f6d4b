"""What a file is, from its content alone (magic bytes), never from its name or the type the
client declared. Pure functions over the first bytes and, for the ZIP-based DOCX, the spooled
file itself (the ZIP directory sits at its end)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from mediation.casefiles.enums import FileType

# Enough for every signature below (the MP4 `ftyp` box, the RIFF header).
HEAD_BYTES = 64

# Audio is accepted only with the speakers' recording consent; the rest is the allow-list.
_M4A_BRANDS = {b"M4A ", b"M4B ", b"mp42", b"isom", b"iso2", b"mp41", b"3gp4", b"3gp5"}

# Declared types that say nothing about the content: they never conflict with it.
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/x-download"}

# Declared types each detected type accepts as "the same" (browsers and phones differ).
_ALIASES: dict[FileType, set[str]] = {
    FileType.pdf: {"application/pdf", "application/x-pdf"},
    FileType.jpeg: {"image/jpeg", "image/jpg", "image/pjpeg"},
    FileType.png: {"image/png", "image/x-png"},
    FileType.docx: {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/zip",  # some mobile browsers
    },
    FileType.mp3: {"audio/mpeg", "audio/mp3", "audio/mpeg3"},
    FileType.wav: {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"},
    FileType.m4a: {"audio/mp4", "audio/x-m4a", "audio/m4a", "audio/aac", "video/mp4"},
    FileType.amr: {"audio/amr", "audio/3gpp"},
    FileType.ogg: {"audio/ogg", "audio/opus", "application/ogg", "audio/vorbis"},
}


class NotAllowed(ValueError):
    """The content is of a type outside the allow-list (or not one we can recognise)."""


def sniff(head: bytes, path: Path | None = None) -> FileType:
    """The allowed type of a file whose first bytes are `head`; `path` (the whole file) is
    needed to tell a DOCX from any other ZIP. Raises NotAllowed otherwise."""
    if not head:
        raise NotAllowed("The file is empty.")
    if head.startswith(b"%PDF-"):
        return FileType.pdf
    if head.startswith(b"\xff\xd8\xff"):
        return FileType.jpeg
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType.png
    if head.startswith(b"PK\x03\x04"):
        if path is None:
            raise NotAllowed("A ZIP file needs its whole content to be recognised.")
        return _docx(path)
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2):
        # An ID3 tag, or an MPEG-1/2 layer III frame sync (11 bits set, layer bits 01).
        return FileType.mp3
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return FileType.wav
    if head[4:8] == b"ftyp" and head[8:12] in _M4A_BRANDS:
        return FileType.m4a
    if head.startswith(b"#!AMR"):
        return FileType.amr
    if head.startswith(b"OggS"):
        return FileType.ogg
    raise NotAllowed(
        "The content is not an allowed type (PDF, JPEG, PNG, DOCX; audio with consent)."
    )


def _docx(path: Path) -> FileType:
    """A Word document: a ZIP with the WordprocessingML main part and no macros. Other ZIPs
    (XLSX, archives, macro-enabled DOCM) are refused."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "[Content_Types].xml" not in names or "word/document.xml" not in names:
                raise NotAllowed("A ZIP archive that is not a Word document.")
            info = z.getinfo("[Content_Types].xml")
            if info.file_size > 1_000_000:  # a content-types part is a few KB: a ZIP bomb
                raise NotAllowed("The Word document is malformed.")
            types = z.read(info).decode("utf-8", "replace")
    except zipfile.BadZipFile as exc:
        raise NotAllowed("The file looks like a ZIP archive but is damaged.") from exc
    if "macroEnabled" in types or any(n.lower().endswith("vbaproject.bin") for n in names):
        raise NotAllowed("Word documents with macros (DOCM) are not accepted.")
    if "wordprocessingml.document.main+xml" not in types:
        raise NotAllowed("A ZIP archive that is not a Word document.")
    return FileType.docx


def matches_declared(detected: FileType, declared: str | None) -> bool:
    """Whether the client's declared type (the part's Content-Type) agrees with the content.
    A generic or missing declaration agrees with anything."""
    value = (declared or "").split(";", 1)[0].strip().lower()
    return value in GENERIC_TYPES or value in _ALIASES[detected]
