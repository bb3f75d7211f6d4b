"""The audit chain's stored details and hashes are byte for byte what the formulas before the
issue 22 speed-up gave (`record`'s JSON round trip of the detail, `digest`'s `json.dumps`),
for every kind of detail, with both crypto profiles: a chain written before verifies after,
and the other way round."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from mediation.audit import chain
from mediation.audit.chain import GENESIS, digest, record, use_profile, verify
from mediation.gmcrypto import CryptoProfile, chain_hash


class Colour(enum.Enum):
    red = "red"


class Level(enum.IntEnum):
    high = 3


class Kind(enum.StrEnum):
    person = "person"


ID = uuid.UUID("0190f3a8-1b2c-7d4e-8f90-123456789abc")
AT = datetime(2026, 12, 6, 6, 30, 1, 123456, tzinfo=timezone(timedelta(hours=8)))

DETAILS: list[dict[str, Any]] = [
    {},
    {"actor_roles": ["dispatcher", "supervisor"], "client_id": "portal"},
    {"outbox_event_id": str(ID), "access_log_id": str(uuid.uuid4())},
    # Nested, unicode (CJK, emoji, combining marks, RTL, U+2028), escapes and control chars.
    {
        "operation": "update",
        "changes": {
            "name": ["铁西区综治中心", "铁西区综治中心第一调解室"],
            "note": ["a\u2028b\u2029c", 'quote " back \\ slash'],
            "ctrl": ["\x00\x01\x1f\x7f", "tab\tnew\nline\rcr\b\f"],
            "emoji": ["👨‍👩‍👧", "é"],
            "rtl": ["שלום", None],
            "keys": {"z": 1, "a": 2, "中": 3, "Z": 4, "": 5, "ä": 6},
        },
    },
    # Numbers: ints (big, negative), floats (exponents, -0.0, tiny, huge), booleans.
    {
        "ints": [0, -1, 2**63, -(2**70), 10**30],
        "floats": [0.1, -0.0, 1e16, 1e-05, 1.5e300, 2.5, 123456789.123456789, 1 / 3],
        "flags": [True, False, None],
        "empty": {"list": [], "dict": {}, "text": ""},
    },
    # What only the round trip turns into JSON: ids, times, dates, amounts, enums, tuples,
    # sets would fail; non-str keys.
    {"id": ID, "at": AT, "on": date(2026, 12, 6), "amount": Decimal("2000.00")},
    {"colour": Colour.red, "level": Level.high, "kind": Kind.person},
    {"pair": (1, "两"), "nested": [{"t": (ID,)}], "deep": {"a": {"b": {"c": [AT]}}}},
    {"by_number": {1: "one", 2.5: "x", None: "n"}, "by_flag": {False: "f"}},
    {"inf": [float("inf"), float("-inf")]},
]


def _old_stored(detail: dict[str, Any]) -> Any:
    return json.loads(json.dumps(detail, default=str))


def _old_digest(prev_hash: str, row: dict[str, Any], profile: CryptoProfile) -> str:
    content = {
        "seq": row["seq"],
        "at": row["at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": str(row["actor_id"]) if row["actor_id"] else None,
        "actor_name": row["actor_name"],
        "action": row["action"],
        "record_type": row["record_type"],
        "record_id": str(row["record_id"]) if row["record_id"] else None,
        "result": row["result"],
        "client_ip": row["client_ip"],
        "request_id": row["request_id"],
        "detail": row["detail"],
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return chain_hash((prev_hash + canonical).encode(), profile)


class _Session:
    info: dict[str, Any]

    def __init__(self) -> None:
        self.info = {}


@pytest.mark.parametrize("index", range(len(DETAILS)))
def test_a_recorded_detail_is_what_the_json_round_trip_gave(index: int) -> None:
    detail = DETAILS[index]
    session = _Session()
    record(session, action="case.assigned", record_type="case", record_id=ID, **detail)
    stored = session.info["audit_queue"][0]["detail"]
    old = _old_stored(detail)
    # Same value and same JSON text (types included: 1 and 1.0 and True differ in JSON).
    assert json.dumps(stored) == json.dumps(old)
    assert json.dumps(stored, sort_keys=True, ensure_ascii=False) == json.dumps(
        old, sort_keys=True, ensure_ascii=False
    )


def test_a_recorded_detail_is_a_copy() -> None:
    """The caller's dicts and lists changed after `record` do not change the entry."""
    changes = {"name": ["a", "b"]}
    session = _Session()
    record(session, action="config.changed", changes=changes)
    changes["name"].append("c")
    changes["other"] = [1, 2]
    assert session.info["audit_queue"][0]["detail"] == {"changes": {"name": ["a", "b"]}}


@pytest.mark.parametrize("profile", list(CryptoProfile))
def test_hashes_are_byte_identical_to_the_old_formula(profile: CryptoProfile) -> None:
    use_profile(profile)
    try:
        prev = GENESIS
        rows = []
        for seq, detail in enumerate(DETAILS, start=1):
            session = _Session()
            record(
                session,
                action="config.changed" if seq % 2 else "read.case",
                actor_id=ID if seq % 3 else None,
                actor_name="张三" if seq % 2 else None,
                record_type="case",
                record_id=None if seq % 4 == 0 else ID,
                client_ip="10.0.0.1",
                **detail,
            )
            entry = session.info["audit_queue"][0]
            row = {**entry, "seq": seq, "prev_hash": prev}
            row["at"] = AT + timedelta(microseconds=seq)
            new = digest(prev, row)
            assert new == _old_digest(prev, row, profile)
            # Verifying recomputes with the algorithm of the stored hash: the same.
            assert digest(prev, row, new) == new
            row["hash"] = prev = new
            rows.append(row)
        assert verify(rows).ok
    finally:
        use_profile(CryptoProfile.default)


def test_the_canonical_encoder_is_what_dumps_builds() -> None:
    for detail in DETAILS:
        content = {"seq": 1, "detail": _old_stored(detail), "中": "文"}
        assert chain._CANONICAL.encode(content) == json.dumps(
            content, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
