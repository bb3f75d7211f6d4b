"""Contract pieces every resource uses: pages, problems."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# The largest value an `integer` column holds: every integer a client sends is bounded by it
# (or less), so a number PostgreSQL cannot store is a 422, not a 500.
INT32_MAX = 2**31 - 1


class Contract(BaseModel):
    model_config = ConfigDict(from_attributes=True, use_enum_values=False)


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

    type: str = Field(description="URI identifying the problem type.")
    title: str = Field(description="Short, human-readable summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="Explanation specific to this occurrence.")
    instance: str | None = Field(None, description="The request path that produced it.")
    request_id: str | None = Field(None, description="Quote this when reporting a problem.")
    errors: list[FieldError] | None = Field(None, description="Field errors (validation problems).")
    remedy: Remedy | None = Field(
        None, description="Where some problems point the caller instead (the detail says why)."
    )
