"""The dry run of a file: read it, match its header to the template, check every row.

Returns every problem (row, column, cell, Chinese and English message) and, when there is
none, the checked records that the commit writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mediation.imports.cases import COLUMNS, Lookups, Problem, RowChecker
from mediation.imports.reading import UnreadableFile, read_sheet

Progress = Callable[[int], Awaitable[None]]
MAX_STORED_PROBLEMS = 10_000


@dataclass
class Outcome:
    rows: int = 0
    encoding: str | None = None
    problems: list[Problem] = field(default_factory=list)
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row, record)
    header: list[str] = field(default_factory=list)

    def file_problem(self, zh: str, en: str) -> None:
        self.problems.append(Problem(1, None, None, zh, en))


def match_header(header: list[str], out: Outcome) -> dict[str, int] | None:
    by_name = {c.zh: c.key for c in COLUMNS} | {c.key: c.key for c in COLUMNS}
    positions: dict[str, int] = {}
    unknown = []
    for i, h in enumerate(header):
        if not h:
            continue
        key = by_name.get(h.replace("*", "").strip())
        if key is None:
            unknown.append(h)
        elif key in positions:
            out.file_problem(f"列“{h}”出现了两次。", f"The column {h!r} appears twice.")
        else:
            positions[key] = i
    missing = [c.zh for c in COLUMNS if c.required and c.key not in positions]
    if missing or unknown:
        zh = "这不是案件导入模板（请先下载模板）："
        en = "This is not the cases template (download it first): "
        if missing:
            zh += "缺少必填列 " + "、".join(missing) + "；"
            en += "missing required columns " + ", ".join(missing) + "; "
        if unknown:
            zh += "无法识别的列 " + "、".join(unknown) + "；"
            en += "unknown columns " + ", ".join(unknown) + "; "
        out.file_problem(zh.rstrip("；") + "。", en.rstrip("; ") + ".")
        return None
    return positions


async def validate(
    content: bytes,
    lookups: Lookups,
    numbers_used: Callable[[set[str]], Awaitable[set[str]]],
    progress: Progress,
    max_rows: int,
) -> Outcome:
    out = Outcome()
    try:
        sheet = read_sheet(content)
    except UnreadableFile as exc:
        out.file_problem(exc.zh, exc.en)
        return out
    out.encoding = sheet.encoding
    out.header = sheet.header
    positions = match_header(sheet.header, out)
    if positions is None:
        return out
    for ref in sheet.merged:
        first = ref.split(":")[0]
        row = int("".join(ch for ch in first if ch.isdigit()))
        col = "".join(ch for ch in first if ch.isalpha())
        out.problems.append(
            Problem(
                row,
                None,
                col,
                f"合并单元格 {ref}：请取消合并，并在每一行填写完整。",
                f"Merged cells {ref}: unmerge them and fill in every row.",
            )
        )
    checker = RowChecker(lookups, positions, sheet.header)
    for row_no, cells in enumerate(sheet.rows, start=2):
        if all(c is None for c in cells):
            continue  # blank lines (Excel keeps formatted empty rows) are not records
        out.rows += 1
        if out.rows > max_rows:
            out.file_problem(
                f"文件超过 {max_rows} 行：请拆分成多个文件。",
                f"The file has more than {max_rows} rows: split it.",
            )
            return out
        record, problems = checker.check(row_no, cells)
        if record is not None:
            out.records.append((row_no, record))
        out.problems.extend(problems)
        if out.rows % 5000 == 0:
            await progress(out.rows)
    if out.rows == 0:
        out.file_problem("文件中没有数据行。", "The file has no data rows.")
    if checker.seen_numbers:
        used = await numbers_used(
            set(checker.seen_numbers)
            | {a for _, a in checker.seen_numbers.values() if a is not None}
        )
        out.problems.extend(checker.used_number_problems(used))
    out.problems.sort(key=lambda p: (p.row, p.letter or ""))
    return out
