"""Finding and filling document templates. The shipped templates sit beside this module; a
file of the same name in `MEDIATION_DOCUMENT_TEMPLATES_DIR` replaces one of them, so an
administrator changes a document's wording or layout without touching code (and an upgrade
never overwrites their version)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mediation.clock import CENTER_TZ

SHIPPED = Path(__file__).parent / "templates"

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ["", "拾", "佰", "仟"]
_GROUPS = ["", "万", "亿", "万亿"]


def rmb_upper(amount: Decimal | int | float | str | None) -> str:
    """An amount in capital Chinese numerals (大写金额), as agreements and receipts write it:
    1234.50 → 人民币壹仟贰佰叁拾肆元伍角整."""
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    if value < 0:
        return "负" + rmb_upper(-value)
    fen_total = int(value * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    out = ""
    if yuan:
        groups: list[str] = []
        g = 0
        while yuan:
            yuan, part = divmod(yuan, 10000)
            text, zero = "", False
            for i in range(3, -1, -1):
                d = part // 10**i % 10
                if d:
                    if zero and text:
                        text += "零"
                    text += _DIGITS[d] + _UNITS[i]
                    zero = False
                else:
                    zero = True
            groups.insert(0, (text + _GROUPS[g]) if text else "零")
            g += 1
        out = "".join(groups)
        while "零零" in out:
            out = out.replace("零零", "零")
        out = out.strip("零").replace("零万", "万").replace("零亿", "亿") + "元"
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
        value = value.astimezone(CENTER_TZ).date()
    return f"{value.year}年{value.month}月{value.day}日"


def cn_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(CENTER_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


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
    env.filters.update(cn_date=cn_date, cn_datetime=cn_datetime, yuan=yuan, rmb_upper=rmb_upper)
    return env


def template_path(name: str, override_dir: Path | None) -> Path:
    """The file used for `name`: the administrator's if present, else the shipped one."""
    if override_dir is not None and (override_dir / name).is_file():
        return override_dir / name
    return SHIPPED / name
