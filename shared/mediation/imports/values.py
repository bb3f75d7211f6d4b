"""Reading one cell as a typed value, or a problem in Chinese and English.

Dates come as Excel dates, Excel serial numbers (45123), 2021-03-05, 2021/3/5, 2021.3.5,
20210305 or 2021年3月5日. ID numbers that Excel turned into 2.20302E+17 have lost their last
digits for good: they are refused, with how to avoid it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from mediation.enums import LabelledEnum
from mediation.privacy import EARLIEST_BIRTH, birth_date, valid_resident_id

Cell = object
E = TypeVar("E", bound=LabelledEnum)

EARLIEST_DAY = date(2000, 1, 1)  # a register's records are this century's
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 with Excel's 1900 leap-year bug
_CJK_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$")
_SEP_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?[eE]\+?\d+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,28}$")


class BadValue(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def text(value: Cell, limit: int) -> str:
    s = str(value).strip() if not isinstance(value, float) else _number_text(value)
    if len(s) > limit:
        raise BadValue(
            f"内容过长（最多 {limit} 个字）。", f"Too long (at most {limit} characters)."
        )
    return s


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def day(value: Cell) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(float(value))
    s = str(value).strip()
    if re.fullmatch(r"\d{5}(\.\d+)?", s):  # a serial date that went through CSV
        return _serial(float(s))
    m = _CJK_DATE.match(s) or _SEP_DATE.match(s)
    if m is None and re.fullmatch(r"\d{8}", s):
        m = re.match(r"(\d{4})(\d{2})(\d{2})", s)
    if m is None:
        raise BadValue(
            f"无法识别的日期“{s}”：请写成 2021-03-05 或 2021年3月5日。",
            f"Unrecognised date {s!r}: write it as 2021-03-05 or 2021年3月5日.",
        )
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise BadValue(f"日期“{s}”不存在。", f"The date {s!r} does not exist.") from None


def past_day(value: Cell, today: date | None) -> date:
    """A day of a register: this century's and not after today (an import brings history;
    a typo such as 2201 or 1921 would otherwise be stored and counted in statistics)."""
    d = day(value)
    if d < EARLIEST_DAY or (today is not None and d > today):
        raise BadValue(
            "日期须在 2000 年以后且不晚于今天（导入的是历史记录）。",
            "The date lies between 2000 and today (an import brings past records).",
        )
    return d


def _serial(n: float) -> date:
    if not 1 <= n < 2958466:
        raise BadValue(f"无法识别的日期“{n}”。", f"Unrecognised date {n!r}.")
    return _EXCEL_EPOCH + timedelta(days=int(n))


def amount(value: Cell) -> Decimal:
    s = str(value).strip().replace(",", "").replace("，", "").removesuffix("元")
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise BadValue(f"金额“{s}”不是数字。", f"The amount {s!r} is not a number.") from None
    if not d.is_finite() or d < 0 or d > Decimal("999999999999.99"):
        raise BadValue(
            "金额须在 0 到 999999999999.99 之间。", "An amount lies between 0 and 999999999999.99."
        )
    return d.quantize(Decimal("0.01"))


def resident_id(value: Cell, today: date | None = None) -> str:
    """A valid resident ID number whose birth date lies from 1900 to `today` (the API's window,
    windows.BIRTH)."""
    if isinstance(value, float) or _SCIENTIFIC.match(str(value).strip()):
        shown = f"{value:.5E}" if isinstance(value, float) else str(value).strip()
        raise BadValue(
            f"身份证号被 Excel 转成了科学计数法（{shown}），后几位已丢失，无法恢复："
            "请把该列设为“文本”格式后重新填写原号码。",
            f"Excel turned this ID number into a number ({shown}) and its last digits are "
            "lost: format the column as Text and type the original number again.",
        )
    s = str(value).strip().upper()
    if isinstance(value, int) or not valid_resident_id(s):
        if isinstance(value, int):
            s = str(value)
        if not valid_resident_id(s):
            raise BadValue(
                f"身份证号“{s}”无效（应为18位，且校验位正确）。",
                f"The ID number {s!r} is not valid (18 characters with a correct check digit).",
            )
    born = birth_date(s)
    if born < EARLIEST_BIRTH or (today is not None and born > today):
        raise BadValue(
            f"身份证号“{s}”中的出生日期（{born}）须在 {EARLIEST_BIRTH} 到今天之间。",
            f"The birth date in the ID number {s!r} ({born}) lies between {EARLIEST_BIRTH} "
            "and today.",
        )
    return s


def phone(value: Cell) -> str:
    s = _number_text(value) if isinstance(value, float) else str(value).strip()
    if not _PHONE.match(s):
        raise BadValue(f"电话号码“{s}”无效。", f"The phone number {s!r} is not valid.")
    return s


def choice(enum: type[E], value: Cell) -> E:
    """A code (resolved) or its Chinese or English label (调解成功)."""
    s = str(value).strip()
    for member in enum:
        if s in (member.value, member.label_zh) or s.lower() == member.label_en.lower():
            return member
    options = "、".join(m.label_zh for m in enum)
    raise BadValue(
        f"“{s}”不是可选值（可选：{options}）。",
        f"{s!r} is not one of the allowed values ({', '.join(m.value for m in enum)}).",
    )


_TIME = re.compile(r"^(.+?)[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?$")
_CJK_TIME = re.compile(r"^(.+日)\s*(\d{1,2})\s*[时点:：]\s*(\d{1,2})\s*分?$")


def moment(value: Cell) -> datetime:
    """A date with a time of day (naive: the center's local time). Excel date-times, serials
    with a fraction (44260.5 = noon), `2021-03-05 14:30`, `2021年3月5日 14时30分`; a date
    alone is the start of that day."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial_moment(float(value))
    s = str(value).strip()
    if re.fullmatch(r"\d{5}(\.\d+)?", s):
        return _serial_moment(float(s))
    m = _CJK_TIME.match(s) or _TIME.match(s)
    if m is None:
        return datetime.combine(day(s), datetime.min.time())
    d = day(m.group(1))
    hour, minute = int(m.group(2)), int(m.group(3))
    second = int(m.group(4)) if m.lastindex and m.lastindex >= 4 and m.group(4) else 0
    if hour > 23 or minute > 59 or second > 59:
        raise BadValue(f"时间“{s}”不存在。", f"The time {s!r} does not exist.")
    return datetime(d.year, d.month, d.day, hour, minute, second)


def _serial_moment(n: float) -> datetime:
    d = _serial(n)
    seconds = round((n - int(n)) * 86400)
    return datetime.combine(d, datetime.min.time()) + timedelta(seconds=min(seconds, 86399))


def whole(value: Cell, low: int = 0, high: int = 1_000_000) -> int:
    """A whole number between `low` and `high` (Excel gives 12.0 for 12)."""
    s = _number_text(value) if isinstance(value, float) else str(value).strip().replace(",", "")
    if not re.fullmatch(r"-?\d+", s):
        raise BadValue(f"“{s}”不是整数。", f"{s!r} is not a whole number.")
    n = int(s)
    if not low <= n <= high:
        raise BadValue(f"须在 {low} 到 {high} 之间。", f"It lies between {low} and {high}.")
    return n


_YES = {"是", "有", "同意", "y", "yes", "true", "1"}
_NO = {"否", "无", "不同意", "n", "no", "false", "0"}


def yes_no(value: Cell) -> bool:
    s = (_number_text(value) if isinstance(value, float) else str(value)).strip().lower()
    if s in _YES:
        return True
    if s in _NO:
        return False
    raise BadValue(f"“{s}”应填“是”或“否”。", f"{s!r}: write 是 (yes) or 否 (no).")


def several(value: Cell) -> list[str]:
    """A list typed in one cell: 情绪困扰、人际关系 (also , ， ; ；)."""
    return [p.strip() for p in re.split(r"[、,，;；]", str(value)) if p.strip()]


def in_order(
    out: dict[str, Any], order: Sequence[tuple[str, str]], bad: Callable[[str, str, str], None]
) -> None:
    """Refuses a date before an earlier step's (`order`: (key, Chinese name) in sequence)."""
    last: tuple[date, str] | None = None
    for key, zh in order:
        d = out.get(key)
        if d is None:
            continue
        if last is not None and d < last[0]:
            bad(key, f"{zh}早于{last[1]}。", f"{key} is before the {last[1]} date.")
        last = (d, zh)


_MONTH = re.compile(r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?$")


def month(value: Cell) -> date:
    """A month as its first day: 2022-11, 2022/11, 2022年11月, or any date of it."""
    if isinstance(value, datetime | date) or isinstance(value, int | float):
        return day(value).replace(day=1)
    s = str(value).strip()
    m = _MONTH.match(s) or (re.fullmatch(r"(\d{4})(\d{2})", s) and re.match(r"(\d{4})(\d{2})", s))
    if m is None:
        try:
            return day(s).replace(day=1)
        except BadValue:
            raise BadValue(
                f"无法识别的月份“{s}”：请写成 2022-11 或 2022年11月。",
                f"Unrecognised month {s!r}: write it as 2022-11 or 2022年11月.",
            ) from None
    if not 1 <= int(m.group(2)) <= 12:
        raise BadValue(f"月份“{s}”不存在。", f"The month {s!r} does not exist.")
    return date(int(m.group(1)), int(m.group(2)), 1)
