"""Finding and filling document templates. The shipped templates sit beside this module; a
file of the same name in `MEDIATION_DOCUMENT_TEMPLATES_DIR` replaces one of them, so an
administrator changes a document's wording or layout without touching code (and an upgrade
never overwrites their version)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mediation.casefiles.documents.linebreak import pull_back
from mediation.clock import CENTER_TZ, center_date

SHIPPED = Path(__file__).parent / "templates"

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ["", "拾", "佰", "仟"]
_GROUPS = ["", "万", "亿", "万亿"]


def _group(n: int) -> str:
    """0 < n < 10000 in capitals, with 零 for zeros inside (1001 → 壹仟零壹)."""
    out, zero = "", False
    for i in (3, 2, 1, 0):
        d = n // 10**i % 10
        if d:
            out += ("零" if zero and out else "") + _DIGITS[d] + _UNITS[i]
            zero = False
        else:
            zero = True
    return out


def _integer(n: int) -> str:
    groups: list[int] = []
    while n:
        n, g = divmod(n, 10000)
        groups.append(g)
    out, gap = "", False
    for idx in reversed(range(len(groups))):
        g = groups[idx]
        if not g:
            gap = bool(out)
            continue
        # A zero between groups is read: 30020 → 叁万零贰拾.
        if out and (gap or g < 1000):
            out += "零"
        out += _group(g) + _GROUPS[idx]
        gap = False
    return out


def rmb_upper(amount: Decimal | int | float | str | None) -> str:
    """An amount in capital Chinese numerals (大写金额), as agreements and receipts write it:
    1234.50 → 人民币壹仟贰佰叁拾肆元伍角整."""
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    if value < 0:
        return "负" + rmb_upper(-value)
    cents = int(value * 100)
    yuan_part, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    out = _integer(yuan_part) + "元" if yuan_part else ""
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif fen and out:
        out += "零"
    if fen:
        out += _DIGITS[fen] + "分"
    return "人民币" + (out or "零元") + ("" if fen else "整")


def yuan(amount: Decimal | int | float | str | None) -> str:
    if amount is None or amount == "":
        return ""
    return f"{Decimal(str(amount)):,.2f} 元"


def cn_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = center_date(value)
    return f"{value.year}年{value.month}月{value.day}日"


def cn_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(CENTER_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def cell_parts(text: str | None, per_line: int, lines: int = 20) -> list[str]:
    """A long text for a table cell, cut into parts of about `lines` lines of `per_line`
    characters (an estimate: CJK characters are the widest): fpdf2 cannot split one table row
    across pages, so a long comment or note becomes several rows (a continuation row per part)
    instead of a row taller than a page. Never empty: an empty text is one empty part."""
    segments: list[tuple[bool, str]] = []  # (starts a source line, text)
    for line in (text or "").split("\n"):
        pieces = [line[i : i + per_line] for i in range(0, len(line), per_line)] or [""]
        segments += [(i == 0, piece) for i, piece in enumerate(pieces)]
    parts: list[str] = []
    for start in range(0, len(segments), lines):
        chunk = segments[start : start + lines]
        part = chunk[0][1]
        for new_line, piece in chunk[1:]:
            part += ("\n" if new_line else "") + piece
        if parts and not chunk[0][0] and part:
            # Cut inside a line: where a line of the PDF may break (no "，" starting a row).
            moved = pull_back(parts[-1], part[0])
            if moved:
                parts[-1], part = parts[-1][:-moved], parts[-1][-moved:] + part
        parts.append(part)
    return parts


def environment(override_dir: Path | None) -> Environment:
    loaders = [FileSystemLoader(str(override_dir))] if override_dir else []
    env = Environment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(str(SHIPPED))]),
        # Everything from the records is text: escaped, so a party's "<b>" stays text.
        autoescape=select_autoescape(["html", "htm", "j2"], default_for_string=True),
        # A misspelt field in an edited template fails loudly instead of printing nothing.
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=lambda v: "" if v is None else v,  # an empty field prints nothing, not "None"
    )
    env.filters.update(
        cn_date=cn_date,
        cn_datetime=cn_datetime,
        yuan=yuan,
        rmb_upper=rmb_upper,
        cell_parts=cell_parts,
    )
    return env


def template_path(name: str, override_dir: Path | None) -> Path:
    """The file used for `name`: the administrator's if present, else the shipped one."""
    if override_dir is not None and (override_dir / name).is_file():
        return override_dir / name
    return SHIPPED / name
