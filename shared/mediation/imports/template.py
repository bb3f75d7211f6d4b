"""The XLSX files of imports: the blank template of a kind (Chinese headers, drop-downs for
the coded columns, an examples sheet and an explanations sheet) and the uploaded sheet
annotated with what validation found."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from mediation.imports.columns import Column, letter

DATA_SHEET = "导入数据"
MAX_ROWS = 200_000
_RED = PatternFill("solid", fgColor="FFC7CE")
_HEAD = PatternFill("solid", fgColor="DDEBF7")


def template(columns: tuple[Column, ...], lists: dict[str, list[str]]) -> bytes:
    """`lists`: allowed values of columns whose list comes from the database (categories)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = DATA_SHEET
    codes = wb.create_sheet("代码表")
    examples = wb.create_sheet("示例")
    notes = wb.create_sheet("说明")
    notes.append(["列", "字段", "必填", "说明", "可选值"])
    for i, col in enumerate(columns):
        head = ws.cell(row=1, column=i + 1, value=col.zh)
        head.font = Font(bold=True, color="C00000" if col.required else "000000")
        head.fill = _HEAD
        ws.column_dimensions[letter(i)].width = max(12, len(col.zh) * 2 + 2)
        # Text format for every column: Excel then keeps ID numbers and leading zeros as typed.
        ws.column_dimensions[letter(i)].number_format = "@"
        examples.cell(row=1, column=i + 1, value=col.zh).font = Font(bold=True)
        examples.cell(row=2, column=i + 1, value=col.example or None)
        options = list(col.choices) or lists.get(col.key, [])
        notes.append(
            [col.zh, col.key, "是" if col.required else "否", col.note, "、".join(options)]
        )
        if options:
            # The list lives on the codes sheet: an inline list is limited to 255 characters.
            c = i + 1
            for r, value in enumerate(options, start=1):
                codes.cell(row=r, column=c, value=value)
            ref = f"代码表!${letter(i)}$1:${letter(i)}${len(options)}"
            dv = DataValidation(
                type="list",
                formula1=ref,
                allow_blank=not col.required,
                showErrorMessage=False,  # codes and English labels are accepted too
            )
            dv.add(f"{letter(i)}2:{letter(i)}{MAX_ROWS}")
            ws.add_data_validation(dv)
    codes.sheet_state = "hidden"
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def annotated(
    header: list[str],
    rows: Iterable[list[Any]],
    problems: dict[int, list[dict[str, Any]]],
) -> bytes:
    """The uploaded rows with a last column 问题/Problems; bad cells red with a comment."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(DATA_SHEET)
    ws.append([*header, "问题 / Problems"])
    for row_no, cells in enumerate(rows, start=2):
        found = problems.get(row_no, [])
        by_cell = {p["cell"]: p for p in found if p.get("cell")}
        out: list[Any] = []
        for i, value in enumerate(cells):
            c = WriteOnlyCell(ws, value=value)
            p = by_cell.get(f"{letter(i)}{row_no}")
            if p is not None:
                c.fill = _RED
                c.comment = Comment(f"{p['message_zh']}\n{p['message_en']}", "导入校验")
            out.append(c)
        out.extend([None] * (len(header) - len(cells)))
        summary = "；".join(
            (f"{p['column']}：" if p.get("column") else "") + p["message_zh"] for p in found
        )
        if summary:
            c = WriteOnlyCell(ws, value=summary)
            c.fill = _RED
            out.append(c)
        ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
