"""Contract pieces every resource uses: pages, problems."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# The largest value an `integer` column holds: every integer a client sends is bounded by it
# (or less), so a number PostgreSQL cannot store is a 422, not a 500.
INT32_MAX = 2**31 - 1


# Instants leave the service in the center's zone (+08:00), whether just computed or read
# back from PostgreSQL (which answers in UTC): one rendering for every time in every answer,
# lists and details alike, so a 02:30 call never shows on the previous day. Rendered at the
# fixed China Standard Time offset: the zone database's historic offsets (local mean time,
# 1986–91 summer time) are not what a reader expects, and LMT's seconds offset is not valid
# RFC 3339.
CST = timezone(timedelta(hours=8))


def center_time(value: datetime) -> str:
    return value.astimezone(CST).isoformat()


Instant = Annotated[datetime, PlainSerializer(center_time, return_type=str, when_used="json")]


# Decimals (amounts in yuan, day counts) travel as strings: a JSON number is a binary float to
# most clients (2000.1 is not 2000.1), and the contract says one type, not `number|string`.
DECIMAL_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,4})?$"
MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


def _money_text(value: Any) -> Any:
    if isinstance(value, Decimal) or (
        isinstance(value, str) and re.fullmatch(MONEY_PATTERN, value)
    ):
        return value
    raise ValueError('an amount is a string of digits with at most 2 decimals, e.g. "2000.00"')


DecimalText = Annotated[
    Decimal,
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN}),
]
# What NUMERIC(14, 2) holds, sent as a string ("2000.00"); a JSON number is refused.
Money = Annotated[
    Decimal,
    BeforeValidator(_money_text),
    Field(ge=0, le=Decimal("999999999999.99"), max_digits=14, decimal_places=2),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": MONEY_PATTERN, "maxLength": 15, "examples": ["2000.00"]}
    ),
]


def jsonable(value: Any) -> Any:
    """JSON-safe ids, times (at the center's offset, like `Instant`), amounts and enums, for
    the stored details of timeline entries and the payloads of outbox events."""
    # JSON's own types first, by exact type (none of them has a `value`): most of a detail's
    # leaves, which the checks below would each try in turn (an intake's entry has 130).
    t = type(value)
    if t is str or t is int or t is bool or t is float or value is None:
        return value
    if t is dict:
        return {k: jsonable(v) for k, v in value.items()}
    if t is list:
        return [jsonable(v) for v in value]
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return center_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):  # enums
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


class Contract(BaseModel):
    model_config = ConfigDict(from_attributes=True, use_enum_values=False)


class Input(Contract):
    """Every request body (and every object inside one): an unknown or read-only field is a
    422 naming it, never silently dropped (a misspelt or read-only field would otherwise
    "succeed" and change nothing the caller meant)."""

    model_config = ConfigDict(extra="forbid")


class Page(Contract, Generic[T]):
    """One page of a keyset-paginated list."""

    items: list[T] = Field(description="The records on this page, in the requested order.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class FieldError(BaseModel):
    field: str = Field(
        description="Dotted path of the offending field, e.g. `body.parties.0.id_number`."
    )
    message: str = Field(description="What is wrong with it.")


class Remedy(BaseModel):
    """A request that gets the caller what the failed one could not (e.g. the figures so far
    of a month whose report is not made yet)."""

    method: str = Field(description="HTTP method, e.g. GET.")
    href: str = Field(description="Where to send it, e.g. `/api/v1/stats/live`.")


class Problem(BaseModel):
    """An RFC 9457 problem document; every error the service returns has this shape."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="URI identifying the problem type (under MEDIATION_PROBLEM_BASE_URI)."
    )
    code: str = Field(
        description="Stable, machine-readable code of the problem: branch on it (it does not "
        "change with the deployment's base URI or the wording of `detail`)."
    )
    title: str = Field(description="Short, human-readable summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="Explanation specific to this occurrence.")
    instance: str | None = Field(None, description="The request path that produced it.")
    request_id: str | None = Field(None, description="Quote this when reporting a problem.")
    errors: list[FieldError] | None = Field(None, description="Field errors (validation problems).")
    remedy: Remedy | None = Field(
        None, description="Where some problems point the caller instead (the detail says why)."
    )
