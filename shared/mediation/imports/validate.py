"""The dry run of a file: read it, match its header to the template, check every row.

Returns every problem (row, column, cell, Chinese and English message) and, when there is
none, the checked records that the commit writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mediation.imports.kinds import KindSpec
from mediation.imports.reading import UnreadableFile, read_sheet
from mediation.imports.rows import Finder, Lookups, Problem

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


def match_header(spec: KindSpec, header: list[str], out: Outcome) -> dict[str, int] | None:
    columns = spec.columns
    by_name = {c.zh: c.key for c in columns} | {c.key: c.key for c in columns}
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
    missing = [c.zh for c in columns if c.required and c.key not in positions]
    if missing or unknown:
        zh = f"这不是“{spec.kind.label_zh}”导入模板（请先下载模板）："
        en = f"This is not the {spec.kind.value} template (download it first): "
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
    spec: KindSpec,
    content: bytes,
    lookups: Lookups,
    finder: Finder,
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
    positions = match_header(spec, sheet.header, out)
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
    checker = spec.checker(lookups, positions, sheet.header)
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
    out.problems.extend(await checker.finish(finder))
    out.problems.sort(key=lambda p: (p.row, p.letter or ""))
    return out
