"""`jsonable` (timeline details, outbox payloads) gives what it gave before its fast path for
JSON's own types (issue 22): same values, same types, for every kind of value."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from mediation.contracts.common import center_time, jsonable


def _old(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return center_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):  # enums
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        return [_old(v) for v in value]
    if isinstance(value, dict):
        return {k: _old(v) for k, v in value.items()}
    return value


class Colour(enum.Enum):
    red = "red"


class Level(enum.IntEnum):
    high = 3


class Kind(enum.StrEnum):
    person = "person"


class Sub(dict):  # type: ignore[type-arg]
    value = "sub"


ID = uuid.uuid4()
AT = datetime(2026, 12, 6, 6, 30, 1, 123456, tzinfo=timezone(timedelta(hours=-5)))
VALUES: list[Any] = [
    None,
    "铁西区",
    "",
    0,
    -(2**70),
    True,
    False,
    1.5,
    -0.0,
    ID,
    Decimal("2000.00"),
    AT,
    date(2026, 12, 6),
    Colour.red,
    Level.high,
    Kind.person,
    (1, ID),
    {ID, 1},
    frozenset({"a"}),
    Sub(a=1),
    {"nested": [{"at": AT, "ids": [ID, ID], "kind": Kind.person}], 1: None, "e": {}},
    [[], [[]], {"a": [Decimal("1.10")]}],
]


@pytest.mark.parametrize("index", range(len(VALUES)))
def test_jsonable_is_what_it_was(index: int) -> None:
    value = VALUES[index]
    new, old = jsonable(value), _old(value)
    assert new == old
    # Types too (True and 1, 1 and 1.0 compare equal).
    assert json.dumps(new, default=repr) == json.dumps(old, default=repr)
    assert repr(new) == repr(old)
