"""What a reader sees of a stored record: an answer model whose fields are mostly the
record's columns of the same names. `shown(Model, record, **given)` copies those and takes
the rest (looked up, computed, masked) from `given`, so a view names only what it adds."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

C = TypeVar("C", bound=BaseModel)


def shown(model: type[C], record: object, **given: Any) -> C:
    """`model` from the record's attributes named like its fields, except those `given`; a
    field the record has no attribute for keeps its default."""
    values = {
        name: getattr(record, name)
        for name in model.model_fields
        if name not in given and hasattr(record, name)
    }
    return model.model_validate({**values, **given})
