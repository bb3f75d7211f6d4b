"""Partial updates: only a value that differs from the record's is a change. A PATCH (or an
action) whose fields all hold what the record already has changes nothing: no new version,
no timeline entry, no event, no notification; the caller gets the record and the ETag it
already had, and nobody else's ETag goes stale."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import inspect

from mediation.errors import VALIDATION, Unprocessable


def comparable(value: Any) -> Any:
    """A value in a form that compares by meaning: models as dicts, enums as their values,
    amounts as numbers (3000 and 3000.00 are equal), times as instants."""
    if isinstance(value, BaseModel):
        return comparable(value.model_dump())
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [comparable(v) for v in value]
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def changed(
    record: object,
    wanted: Mapping[str, Any],
    current: Mapping[str, Callable[[], Any]] | None = None,
) -> dict[str, Any]:
    """The entries of `wanted` whose value differs from the record's: its attribute of that
    name, or `current[name]()` where a field is stored differently."""
    getters = current or {}
    out = {}
    for name, value in wanted.items():
        now = getters[name]() if name in getters else getattr(record, name)
        if comparable(now) != comparable(value):
            out[name] = value
    return out


def modified(record: object) -> set[str]:
    """The attributes of a loaded record whose value really differs from the stored one (the
    ORM does not count a value set to what it was). For changes applied through derived
    fields (hashes, sealed numbers, computed flags): apply, then ask."""
    return {attr.key for attr in inspect(record).attrs if attr.history.has_changes()}


def next_version(record: Any) -> list[str]:
    """What really changed of a loaded, versioned record (`modified`, sorted); when anything
    did, the record's next version. An empty list: nothing changes, nobody is told."""
    names = sorted(modified(record))
    if names:
        record.version += 1
    return names


def null_errors(
    values: Mapping[str, Any], fields: Iterable[str], prefix: str = "body"
) -> list[dict[str, str]]:
    """One error for each of `fields` that a PATCH sets to null (omitting it keeps it)."""
    return [
        {"field": f"{prefix}.{k}", "message": "Cannot be null."}
        for k in fields
        if k in values and values[k] is None
    ]


def refuse_nulls(errors: list[dict[str, str]]) -> None:
    if errors:
        raise Unprocessable(
            "Some fields cannot be null; see errors.", errors=errors, code=VALIDATION
        )


def patch_fields(body: BaseModel, *not_null: str) -> dict[str, Any]:
    """The fields a PATCH body sets; a 422 naming those of `not_null` it sets to null."""
    changes = body.model_dump(exclude_unset=True)
    refuse_nulls(null_errors(changes, not_null))
    return changes
