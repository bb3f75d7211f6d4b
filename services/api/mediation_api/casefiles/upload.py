"""Receiving an upload: the multipart body is parsed as it streams in, the file part written
to a temporary file on disk and hashed on the way, never held whole in memory. The size limit
is enforced while reading (413 as soon as it is passed, not after), and a body that ends before
its closing boundary (a dropped connection, a killed client) leaves nothing behind."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import anyio
import anyio.to_thread
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from mediation.casefiles.problems import UPLOAD_PARTS
from mediation.casefiles.sniff import HEAD_BYTES
from mediation.errors import DomainError, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from mediation_api import inputs

log = logging.getLogger("mediation.casefiles.upload")

FILE_FIELD = "file"
MAX_FIELDS = 10
MAX_FIELD_BYTES = 2000


class UploadIncomplete(DomainError):
    status = 400
    slug = "upload-incomplete"
    title = "The upload was cut off"


class MalformedUpload(DomainError):
    status = 400
    slug = "malformed-upload"
    title = "The multipart body is malformed"


@dataclass
class SpooledFile:
    path: Path
    file_name: str
    declared_type: str | None
    size: int = 0
    head: bytes = b""
    sha256: str = ""


@dataclass
class Upload:
    file: SpooledFile | None = None
    fields: dict[str, str] = field(default_factory=dict)


def safe_file_name(raw: str | None) -> str:
    """The name to show and save under: the last path segment, no control characters, at
    most 120 characters. Only ever displayed; storage keys never come from it."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 120 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:120]
    return name or "附件"


class _Receiver:
    """python-multipart callbacks; file bytes are queued here and written between chunks."""

    too_many: ClassVar[str] = "Send one file part named `file` and at most 10 short fields."

    def __init__(self, spool_dir: Path, max_bytes: int) -> None:
        self.spool_dir = spool_dir
        self.max_bytes = max_bytes
        self.upload = Upload()
        self.ended = False
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._field = bytearray()
        self._pending: list[bytes] = []
        self._hash = hashlib.sha256()
        self.error: DomainError | None = None

    # --- parser callbacks (synchronous, inside parser.write) ---
    def on_part_begin(self) -> None:
        self._headers, self._name, self._is_file = {}, None, False
        self._field = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        if name is None:
            raise MalformedUpload('Every part needs a Content-Disposition with a "name".')
        self._name = name.decode("utf-8", "replace")
        if b"filename" in options or self._name == FILE_FIELD:
            if self._name != FILE_FIELD or self.upload.file is not None:
                raise Unprocessable(self.too_many, field="body.file", code=UPLOAD_PARTS)
            self._is_file = True
            raw_type = self._headers.get(b"content-type")
            filename = options.get(b"filename", b"").decode("utf-8", "replace")
            self.upload.file = SpooledFile(
                path=self._new_spool(),
                file_name=safe_file_name(filename),
                declared_type=raw_type.decode("latin-1")[:100] if raw_type else None,
            )
        elif len(self.upload.fields) >= MAX_FIELDS:
            raise Unprocessable(self.too_many, field="body", code=UPLOAD_PARTS)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self._is_file:
            self._field += chunk
            if len(self._field) > MAX_FIELD_BYTES:
                raise Unprocessable(
                    f"The field `{self._name}` is longer than {MAX_FIELD_BYTES} bytes.",
                    field=f"body.{self._name}",
                    code=UPLOAD_PARTS,
                )
            return
        f = self.upload.file
        assert f is not None
        f.size += len(chunk)
        if f.size > self.max_bytes:
            # Stop reading now: the rest of a 2 GB body is never accepted.
            raise PayloadTooLarge(f"The file is larger than {self.max_bytes} bytes.")
        if len(f.head) < HEAD_BYTES:
            f.head += chunk[: HEAD_BYTES - len(f.head)]
        self._hash.update(chunk)
        self._pending.append(chunk)

    def on_part_end(self) -> None:
        if not self._is_file and self._name is not None:
            value = self._field.decode("utf-8", "replace")
            if "\x00" in value:
                raise inputs.refuse(f"body.{self._name}")
            self.upload.fields[self._name] = value

    def on_end(self) -> None:
        self.ended = True

    def _new_spool(self) -> Path:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.spool_dir, prefix="up-", suffix=".part")
        os.close(fd)
        return Path(name)

    def take_pending(self) -> bytes:
        data = b"".join(self._pending)
        self._pending.clear()
        return data

    def finish(self) -> None:
        if self.upload.file is not None:
            self.upload.file.sha256 = self._hash.hexdigest()


@asynccontextmanager
async def receive_upload(
    request: Request, *, spool_dir: Path, max_bytes: int
) -> AsyncIterator[Upload]:
    """Parses the multipart body of `request`; the spooled file exists while the context
    lasts (storing it moves it away) and is removed on every way out."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise UnsupportedMediaType(
            "Send the file as multipart/form-data (a part named `file`).",
        )
    receiver = _Receiver(spool_dir, max_bytes)
    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": receiver.on_part_begin,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
            "on_end": receiver.on_end,
        },
    )
    out: anyio.AsyncFile[bytes] | None = None
    try:
        try:
            async for chunk in request.stream():
                if not chunk:
                    continue
                parser.write(chunk)
                data = receiver.take_pending()
                if data:
                    file = receiver.upload.file
                    assert file is not None
                    if out is None:
                        out = await anyio.open_file(file.path, "wb")
                    await out.write(data)
            parser.finalize()
        except ClientDisconnect as exc:
            log.info("upload cut off by the client")
            raise UploadIncomplete("The connection closed before the upload ended.") from exc
        except MultipartParseError as exc:
            raise MalformedUpload(f"The multipart body could not be read: {exc}") from exc
        if not receiver.ended:
            raise UploadIncomplete(
                "The body ended before the multipart closing boundary: the upload was cut off. "
                "Nothing was kept; send it again."
            )
        if out is not None:
            await out.aclose()
            out = None
        receiver.finish()
        if receiver.upload.file is None:
            raise Unprocessable(
                "The form has no part named `file`.", field="body.file", code=UPLOAD_PARTS
            )
        yield receiver.upload
    finally:
        if out is not None:
            await out.aclose()
        if receiver.upload.file is not None:
            path = receiver.upload.file.path
            await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
