"""Pure rules: what a file is from its bytes, signed links, amounts in capitals, safe names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from mediation.casefiles import links
from mediation.casefiles.documents.templating import rmb_upper
from mediation.casefiles.enums import FileType
from mediation.casefiles.sniff import HEAD_BYTES, NotAllowed, matches_declared, sniff
from mediation_api.casefiles.service import _extension_ok
from mediation_api.casefiles.upload import safe_file_name
from tests.casefiles.conftest import (
    docm_bytes,
    docx_bytes,
    jpeg_bytes,
    mp3_bytes,
    pdf_bytes,
    plain_zip,
    png_bytes,
    wav_bytes,
)


def _sniff(content: bytes, tmp_path: Path) -> FileType:
    path = tmp_path / "f"
    path.write_bytes(content)
    return sniff(content[:HEAD_BYTES], path)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (pdf_bytes, FileType.pdf),
        (png_bytes, FileType.png),
        (jpeg_bytes, FileType.jpeg),
        (docx_bytes, FileType.docx),
        (mp3_bytes, FileType.mp3),
        (wav_bytes, FileType.wav),
        (lambda: b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 40, FileType.m4a),
        (lambda: b"#!AMR\n" + b"\x3c" * 40, FileType.amr),
        (lambda: b"OggS\x00\x02" + b"\x00" * 40, FileType.ogg),
    ],
)
def test_the_content_decides_the_type(make: object, expected: FileType, tmp_path: Path) -> None:
    assert _sniff(make(), tmp_path) is expected  # type: ignore[operator]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        "纯文本文件".encode(),
        b"<html><script>alert(1)</script></html>",
        b"MZ\x90\x00" + b"\x00" * 60,  # a Windows executable
        b"GIF89a" + b"\x00" * 40,
    ],
)
def test_other_content_is_not_allowed(content: bytes, tmp_path: Path) -> None:
    with pytest.raises(NotAllowed):
        _sniff(content, tmp_path)


def test_a_zip_is_a_docx_only_when_it_is_a_word_document_without_macros(tmp_path: Path) -> None:
    with pytest.raises(NotAllowed, match="not a Word document"):
        _sniff(plain_zip(), tmp_path)
    with pytest.raises(NotAllowed, match="macros"):
        _sniff(docm_bytes(), tmp_path)
    with pytest.raises(NotAllowed, match="damaged"):
        _sniff(docx_bytes()[:200], tmp_path)


def test_declared_types() -> None:
    assert matches_declared(FileType.pdf, "application/pdf")
    assert matches_declared(FileType.pdf, None)
    assert matches_declared(FileType.pdf, "application/octet-stream")
    assert matches_declared(FileType.jpeg, "image/jpg")
    assert matches_declared(FileType.docx, "application/zip")
    assert not matches_declared(FileType.png, "application/pdf")
    assert not matches_declared(FileType.pdf, "image/png")


def test_signed_links() -> None:
    secret = "s" * 40
    now = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    aid = uuid.uuid4()
    grant = links.LinkGrant(
        aid, int((now + timedelta(minutes=5)).timestamp()), "user", uuid.uuid4(), "冯调解"
    )
    token = links.sign(secret, grant)
    assert links.verify(secret, token, aid, now) == grant
    with pytest.raises(links.BadLink, match="expired"):
        links.verify(secret, token, aid, now + timedelta(minutes=5))
    with pytest.raises(links.BadLink):
        links.verify("t" * 40, token, aid, now)  # another key
    with pytest.raises(links.BadLink):
        links.verify(secret, token, uuid.uuid4(), now)  # another attachment
    _, sig = token.split(".")
    forged = links.sign(
        "x" * 40, links.LinkGrant(aid, grant.expires + 3600, "user", grant.actor_id, "x")
    )
    with pytest.raises(links.BadLink):
        links.verify(secret, forged.split(".")[0] + "." + sig, aid, now)  # longer life, old MAC
    with pytest.raises(links.BadLink):
        links.verify(secret, "garbage", aid, now)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("2000"), "人民币贰仟元整"),
        (Decimal("1500.50"), "人民币壹仟伍佰元伍角整"),
        (Decimal("1001.05"), "人民币壹仟零壹元零伍分"),
        (Decimal("100000"), "人民币壹拾万元整"),
        (Decimal("100010000"), "人民币壹亿零壹万元整"),
        (Decimal("30020"), "人民币叁万零贰拾元整"),
        (Decimal("0.5"), "人民币伍角整"),
        (Decimal("12345678.9"), "人民币壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角整"),
    ],
)
def test_amounts_in_capitals(amount: Decimal, text: str) -> None:
    assert rmb_upper(amount) == text


def test_file_names_are_only_displayed_and_claim_the_detected_type() -> None:
    assert safe_file_name("C:\\Users\\张三\\现场照片.jpg") == "现场照片.jpg"
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("a\x00b\u202ec.pdf") == "abc.pdf"
    assert safe_file_name("") == "附件"
    assert len(safe_file_name("长" * 300 + ".pdf")) == 120
    assert _extension_ok("现场照片.pdf", FileType.jpeg) == "现场照片.jpg"
    assert _extension_ok("photo.JPEG", FileType.jpeg) == "photo.JPEG"
    assert _extension_ok("协议", FileType.docx) == "协议.docx"


def test_ascii_file_names_for_clients_without_filename_star() -> None:
    from mediation_api.disposition import ascii_fallback, content_disposition

    assert ascii_fallback("现场照片.jpg", "evidence-1") == "evidence-1.jpg"
    assert ascii_fallback("220302-2026-0001-受理登记表.pdf", "x") == "x.pdf"
    assert ascii_fallback("维修报价单 v2.pdf", "x") == "v2.pdf"
    assert ascii_fallback("Repair quote.pdf", "x") == "Repair-quote.pdf"
    assert ascii_fallback('a"b\\c.pdf', "x") == "a-b-c.pdf"
    assert ascii_fallback("说明", "x") == "x"
    assert content_disposition("协议.pdf", "agreement.pdf") == (
        "attachment; filename=\"agreement.pdf\"; filename*=UTF-8''%E5%8D%8F%E8%AE%AE.pdf"
    )
