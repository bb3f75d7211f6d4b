"""Reading an uploaded sheet: XLSX (first worksheet) or CSV in UTF-8 or GBK (detected).

Cells come back as they were typed: str, int/float (Excel serial dates, numbers), datetime.
Merged cells are reported, never guessed at (a merged 登记日期 could mean any of its rows)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Cell = Any


class UnreadableFile(Exception):
    """The file is neither an XLSX workbook nor a CSV text (message_zh, message_en)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


@dataclass
class Sheet:
    header: list[str]
    rows: Iterator[list[Cell]]  # the data rows, from the sheet's row 2
    encoding: str | None = None
    merged: list[str] = field(default_factory=list)  # "A2:A5"


def is_xlsx(content: bytes) -> bool:
    return content[:4] == b"PK\x03\x04"


def decode_csv(content: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without BOM) first; what is not UTF-8 is read as
    GB18030, the superset of GBK that Excel on Chinese Windows writes."""
    try:
        return content.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030"), "gbk"
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            "无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX 文件。",
            "The file's encoding is neither UTF-8 nor GBK: save it as CSV (UTF-8 or GBK) or XLSX.",
        ) from exc


_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _merged_ranges(content: bytes) -> list[str]:
    # Read-only mode (needed for big files) does not expose merged cells: read them from the
    # first worksheet's XML, where they follow the cell data.
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        names = sorted(n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
        if not names:
            return []
        data = z.read(names[0])
    start = data.rfind(b"<mergeCells")
    return [m.decode() for m in _MERGE.findall(data, start)] if start >= 0 else []


def _clean(value: Cell) -> Cell:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def read_sheet(content: bytes) -> Sheet:
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # the pre-2007 binary format
        raise UnreadableFile(
            "这是旧版 Excel（.xls）文件：请在 Excel 中“另存为” .xlsx 或 CSV 后再上传。",
            "This is an old Excel (.xls) file: save it as .xlsx or CSV in Excel and upload that.",
        )
    if is_xlsx(content):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:
            raise UnreadableFile(
                "无法打开该 XLSX 文件（文件已损坏或不是 Excel 工作簿）。",
                "The XLSX file cannot be opened (damaged, or not an Excel workbook).",
            ) from exc
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        first = next(it, None)
        header = [str(_clean(v) or "") for v in (first or [])]
        rows = ([_clean(v) for v in r] for r in it)
        return Sheet(header=header, rows=rows, merged=_merged_ranges(content))
    text, encoding = decode_csv(content)
    reader = csv.reader(io.StringIO(text, newline=""))
    first = next(reader, None)
    header = [(h or "").strip() for h in (first or [])]
    return Sheet(header=header, rows=([_clean(v) for v in r] for r in reader), encoding=encoding)
