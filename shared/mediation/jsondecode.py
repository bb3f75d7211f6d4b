"""JSON from PostgreSQL into Python values: orjson's speed, the standard library's values.

The read pool (`mediation_api.readdb`: a case by id, the case lists) decodes `json`/`jsonb`
with orjson, which is several times faster than `json.loads` but not the same function: it
turns integers beyond 64 bits into floats (silently), and refuses what `json.loads` accepts
(numbers beyond a double's range, lone surrogates, NaN). The engine's sessions decode with
`json.loads`, and the same query functions run on both, so orjson decodes here unless the
text could hold such a number (a run of 19 or more digits: PostgreSQL writes `numeric`
without an exponent; or a three-digit exponent, which a `json` column keeps as typed), and
`json.loads` decodes whatever orjson refuses. Same values either way (tests/test_jsondecode.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# 19 digits: the shortest run that can leave int64 (orjson's exact range ends at 2**64 - 1;
# a run this long may also be a float's digits, which json.loads then reads as before).
_RISKY = re.compile(rb"\d{19}|[eE][+-]?\d{3}")


def loads(data: bytes) -> Any:
    """`json.loads(data)`'s value, through orjson where that is the same value."""
    if _RISKY.search(data) is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)
