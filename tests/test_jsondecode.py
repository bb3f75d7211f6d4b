"""JSON values read from PostgreSQL are the standard library's (`mediation.jsondecode`): the
read pool's fast path may never change a value, and reads what the engine's session reads."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from mediation.jsondecode import loads
from mediation.settings import Settings
from mediation_api.readdb import create_read_pool


def typed(value: Any) -> Any:
    """The value with every type spelt out (1 vs 1.0 vs True, -0.0 vs 0.0, NaN)."""
    if isinstance(value, float):
        return ("float", value.hex() if not math.isnan(value) else "nan")
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, value)


def same(text_: str) -> None:
    expected = typed(json.loads(text_))
    assert typed(loads(text_.encode("utf-8", "surrogatepass"))) == expected


# What orjson alone gets wrong or refuses, and what it must keep doing right.
TEXTS = [
    "9223372036854775807",  # int64's end: orjson exact
    "9223372036854775808",
    "18446744073709551615",  # uint64's end
    "18446744073709551616",  # orjson: a float
    "-9223372036854775809",
    "123456789012345678901234567890",
    '{"amount": 100000000000000000000000, "n": 1}',
    "1" + "0" * 400,  # jsonb's numeric 1e400, as PostgreSQL writes it
    "0." + "0" * 399 + "1",
    "1.5e400",  # a json column keeps the exponent: json.loads gives inf, orjson refuses
    "-1e999",
    "1e-400",
    "NaN",
    "[Infinity, -Infinity]",
    '"\\ud800"',  # a lone surrogate escape
    '"\\ud83d\\ude00 \\u2028 调解 \\u0000"',
    "-0.0",
    "-0",
    "0.1",
    "1.7976931348623157e308",
    "5e-324",
    "2.2250738585072014e-308",
    "0.30000000000000004",
    "123456789012345678",  # 18 digits: the fast path
    "1234567890.12345678",
    '{"a": 1, "a": 2}',
    '{"nested": [1, 2.5, true, false, null, {"x": "y"}], "中文": "值"}',
    "[]",
    "{}",
    '""',
]


@pytest.mark.parametrize("text_", TEXTS)
def test_a_text_decodes_to_the_standard_librarys_value(text_: str) -> None:
    same(text_)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_any_value_comes_back_as_the_standard_library_reads_it(value: Any, ascii_: bool) -> None:
    same(json.dumps(value, ensure_ascii=ascii_))


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,4})?\Z"))
def test_any_number_as_typed_comes_back_as_the_standard_library_reads_it(number: str) -> None:
    same(number)


# As PostgreSQL stores them: jsonb normalises numbers (no exponent), json keeps the text.
STORED = [
    '\'{"big": 18446744073709551617, "neg": -9223372036854775809}\'',
    "'[1e400, 0.1, 1e-400, -0.0]'",
    '\'{"amount": 123456789012345678901234567890.5, "ok": 42}\'',
    "'\"调解 \\ud83d\\ude00\"'",
]


@pytest.mark.parametrize("cast", ["json", "jsonb"])
@pytest.mark.parametrize("literal", STORED)
async def test_the_engine_and_the_read_pool_read_what_postgresql_holds(
    db: Any, settings: Settings, literal: str, cast: str
) -> None:
    statement = f"SELECT ({literal})::{cast} AS decoded, ({literal})::{cast}::text AS stored"
    async with db() as session:
        decoded, stored = (await session.execute(text(statement))).one()
    expected = typed(json.loads(stored))
    assert typed(decoded) == expected
    pool = await create_read_pool(settings)
    try:
        async with pool.acquire() as conn:
            got = await conn.fetchrow(statement)
    finally:
        await pool.close()
    assert typed(got["decoded"]) == expected
