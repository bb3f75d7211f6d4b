"""Human case numbers: `铁西调〔2026〕0001号` and the ASCII form `220302-2026-0001`.

The sequence comes from a counter row per (district, year), incremented in the intake's own
transaction, so concurrent intakes queue on that row and a number is never given twice."""

from __future__ import annotations

_SUFFIXES = ("满族自治县", "蒙古族自治县", "朝鲜族自治县", "自治县", "新区", "区", "县", "市")


def district_abbreviation(name: str) -> str:
    """铁西区 → 铁西, 伊通满族自治县 → 伊通, 双辽市 → 双辽."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def case_number(district_name: str, year: int, seq: int) -> str:
    return f"{district_abbreviation(district_name)}调〔{year}〕{seq:04d}号"


def case_number_ascii(district_code: str, year: int, seq: int) -> str:
    return f"{district_code}-{year}-{seq:04d}"
