"""Typed outbox payloads: one Pydantic model per event type, declared beside its domain
(`mediation/<domain>/events.py` or `payloads.py`) and collected in `mediation.outbox.registry`.

A payload model says which event types carry it (`event_types`) and what kind of record they
report (`aggregate_type`). Its JSON is `dump()`: ids as strings, times at the center's offset
(`Instant`), enums by value — what producers wrote by hand before the models. A field with a
default is written only when the producer sets it (`exclude_unset`): the fields an event
carries only sometimes (a session's `event_id`, an opinion's `case_id`) stay absent otherwise.

Fields holding person ids are typed `PersonId`/`PersonIds`, unit ids `UnitId`: the
notification catalogue lists them as the fields rules may send to (`person_fields`,
`unit_fields`), and `field_of(Model, lambda p: p.field)` names one with a checked lookup."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


PERSON = _Marker("person")
UNIT = _Marker("unit")

PersonId = Annotated[uuid.UUID, PERSON]
PersonIds = Annotated[list[uuid.UUID], PERSON]
UnitId = Annotated[uuid.UUID, UNIT]


class EventPayload(BaseModel):
    """The payload of one or more outbox event types (see the module's notes)."""

    # An unknown field is an error: a producer cannot add one the catalogue does not know.
    model_config = ConfigDict(extra="forbid")

    event_types: ClassVar[tuple[str, ...]] = ()
    aggregate_type: ClassVar[str] = ""

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def type_for(cls, event_type: str | None) -> str:
        """The type an emit writes: the model's only one, or the one named (which it must carry)."""
        if event_type is None:
            if len(cls.event_types) != 1:
                raise TypeError(f"{cls.__name__} carries {cls.event_types}: name the type")
            return cls.event_types[0]
        if event_type not in cls.event_types:
            raise TypeError(f"{cls.__name__} is not the payload of {event_type}")
        return event_type


def _marked(model: type[BaseModel], marker: _Marker) -> tuple[str, ...]:
    return tuple(name for name, f in model.model_fields.items() if marker in f.metadata)


def person_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields holding a person id or a list of them."""
    return _marked(model, PERSON)


def unit_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields holding a unit id."""
    return _marked(model, UNIT)


class _Names:
    """Answers an attribute access with the attribute's name (see `field_of`)."""

    def __getattr__(self, name: str) -> str:
        return name


M = TypeVar("M", bound=BaseModel)


def field_of(model: type[M], pick: Callable[[M], object]) -> str:
    """The name of the field `pick` reads (`field_of(CaseAssigned, lambda p:
    p.handler_person_ids)`), checked now: a misspelt or removed field fails at import time,
    and a type checker reads `pick` against the model."""
    name = pick(_Names())  # type: ignore[arg-type]
    if not isinstance(name, str) or name not in model.model_fields:
        raise AttributeError(f"{model.__name__} has no field {name!r}")
    return name
