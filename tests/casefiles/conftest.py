"""Helpers of the case-file tests: their own data folder and a small upload limit, sample files
of every type made on the spot, cases carried to the state a test needs, reading PDFs back and
rendering them to PNG for a person to look at (artifacts/casefiles/)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediation.settings import Settings
from tests.cases.conftest import CASES, act, case_body, person_id
from tests.support.world import World

UPLOADS = "/api/v1/uploads"
ATTACHMENTS = "/api/v1/attachments"
LIMIT = 300_000  # MEDIATION_MAX_UPLOAD_BYTES in these tests: small files prove the limit
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "casefiles"


@pytest.fixture(scope="session")
def settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The suite's settings with a data folder of their own (the stored files are checked)."""
    return settings.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("casefiles-data"), "max_upload_bytes": LIMIT}
    )


@pytest.fixture(autouse=True)
def _empty_store(settings: Settings) -> None:
    """Each test starts with no stored file (the database is emptied the same way)."""
    shutil.rmtree(files_dir(settings), ignore_errors=True)


def files_dir(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "files"


def spool_dir(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "tmp" / "uploads"


def stored_files(settings: Settings) -> list[Path]:
    root = files_dir(settings)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def spooled(settings: Settings) -> list[Path]:
    root = spool_dir(settings)
    return sorted(p for p in root.glob("up-*")) if root.exists() else []


# --- sample files, each of the type its name says ------------------------------------------
def pdf_bytes(text: str = "Evidence page", pages: int = 1) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    for i in range(pages):
        pdf.add_page()
        pdf.set_font("helvetica", size=24)
        pdf.cell(0, 20, f"{text} {i + 1}")
    return bytes(pdf.output())


def png_bytes(size: tuple[int, int] = (320, 200), colour: str = "steelblue") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (200, 150), "darkorange").save(out, "JPEG")
    return out.getvalue()


def docx_bytes(text: str = "证据说明") -> bytes:
    from docx import Document

    out = io.BytesIO()
    doc = Document()
    doc.add_paragraph(text)
    doc.save(out)
    return out.getvalue()


def docm_bytes() -> bytes:
    """A macro-enabled Word file: a DOCX whose content types declare macros, with a VBA part."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"
                )
            z.writestr(item, data)
        z.writestr("word/vbaProject.bin", b"\x00" * 64)
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "not a document")
    return out.getvalue()


def mp3_bytes() -> bytes:
    # An ID3v2 header then MPEG-1 layer III frame headers: what recorders write.
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 400


def wav_bytes() -> bytes:
    import struct

    data = b"\x00\x00" * 800
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data"
    return header + struct.pack("<I", len(data)) + data


# --- cases in the state a test needs --------------------------------------------------------
async def new_case(client: httpx.AsyncClient, world: World, **over: Any) -> dict[str, Any]:
    dispatcher = await world.headers("dispatcher")
    r = await client.post(CASES, headers=dispatcher, json=case_body(world, **over))
    assert r.status_code == 201, r.text
    return r.json()


async def mediating_case(client: httpx.AsyncClient, world: World, **over: Any) -> dict[str, Any]:
    """Accepted, assigned to the demo mediator (冯调解), in mediation."""
    dispatcher = await world.headers("dispatcher")
    case = await new_case(client, world, **over)
    case = await act(client, dispatcher, case, "accept", {"note": "符合受理条件"})
    mediator = await person_id(world, "mediator")
    case = await act(
        client,
        dispatcher,
        case,
        "assign",
        {"handlers": [{"person_id": str(mediator), "channel": "people", "lead": True}]},
    )
    return await act(client, await world.headers("mediator"), case, "start-mediation", {})


FOLLOW_UP = {
    "method": "visit",
    "performance": "full",
    "satisfaction": "satisfied",
    "flare_up_risk": "low",
    "notes": "已履行",
}
AGREEMENT = {
    "form": "written",
    "terms": (
        "一、502室业主李四于2026年12月3日前修复卫生间漏水。\n二、李四赔偿402室张三维修费用2000元。"
    ),
    "amount": "2000.00",
    "performance_method": "现金一次性支付",
    "performance_due_on": "2026-12-03",
    "signed_by_parties": True,
}


async def resolved_case(client: httpx.AsyncClient, world: World, **over: Any) -> dict[str, Any]:
    case = await mediating_case(client, world, **over)
    return await act(
        client, await world.headers("mediator"), case, "resolve", {"agreement": AGREEMENT}
    )


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    path: str,
    content: bytes,
    name: str = "证据.pdf",
    ctype: str = "application/pdf",
    **fields: str,
) -> httpx.Response:
    return await client.post(
        f"{UPLOADS}/{path}", headers=headers, files={"file": (name, content, ctype)}, data=fields
    )


# --- reading documents back -----------------------------------------------------------------
def pdf_pages(content: bytes) -> list[str]:
    """Each page's text, whitespace removed (line breaks fall anywhere in Chinese text).

    Read with PDFium (pypdfium2, Chrome's PDF engine): fpdf2 writes CID-keyed CFF fonts (Noto
    CJK) with an embedded encoding CMap, which PDFium and poppler decode but pypdf and
    pdfminer.six do not (they read the 2-byte codes as single bytes)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(content)
    try:
        return [re.sub(r"\s+", "", doc[i].get_textpage().get_text_range()) for i in range(len(doc))]
    finally:
        doc.close()


Char = tuple[float, float, float, str]  # vertical centre, left, right, the character


def _pdf_char_lines(content: bytes) -> list[tuple[int, list[Char]]]:
    """(page, characters left to right) of every line of text, from the characters' boxes
    (points); a line holds every cell of a table row."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(content)
    out: list[tuple[int, list[Char]]] = []
    try:
        for p in range(len(doc)):
            tp = doc[p].get_textpage()
            chars = []
            for i in range(tp.count_chars()):
                ch = tp.get_text_range(i, 1)
                if ch.strip():
                    left, bottom, right, top = tp.get_charbox(i)
                    chars.append(((bottom + top) / 2, left, right, ch))
            # One line: characters whose vertical centres lie within 7 pt (digits, CJK glyphs
            # and punctuation of one line have different boxes; lines are 18 pt apart).
            chars.sort(key=lambda c: -c[0])
            line: list[Char] = []
            for c in [*chars, None]:
                if line and (c is None or abs(c[0] - line[0][0]) > 7):
                    out.append((p, sorted(line, key=lambda x: x[1])))
                    line = []
                if c is not None:
                    line.append(c)
    finally:
        doc.close()
    return out


def pdf_lines(content: bytes) -> list[tuple[int, float, float, str]]:
    """(page, left, right, text) of every line of text (points)."""
    return [
        (p, line[0][1], max(x[2] for x in line), "".join(x[3] for x in line))
        for p, line in _pdf_char_lines(content)
    ]


def pdf_text_lines(content: bytes) -> list[str]:
    """Each line of text as a reader sees it, table cells apart: a line split where more
    than an em of empty space separates two characters."""
    out: list[str] = []
    for _, line in _pdf_char_lines(content):
        run = line[0][3]
        for (_, _, right, _), (_, left, _, ch) in pairwise(line):
            if left - right > 14:
                out.append(run)
                run = ""
            run += ch
        out.append(run)
    return out


def render_png(content: bytes, name: str) -> list[Path]:
    """Pages as PNG under artifacts/casefiles/ for a person to look at: poppler's pdftoppm
    when installed, else PDFium (pypdfium2, a dev dependency), so a picture always exists."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    pdf = ARTIFACTS / f"{name}.pdf"
    pdf.write_bytes(content)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-r", "70", "-png", str(pdf), str(ARTIFACTS / name)],
            check=True,
            capture_output=True,
            timeout=120,
        )
    else:
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(pdf))
        for i in range(len(doc)):
            doc[i].render(scale=70 / 72).to_pil().save(ARTIFACTS / f"{name}-{i + 1}.png")
        doc.close()
    return sorted(ARTIFACTS.glob(f"{name}-*.png"))
