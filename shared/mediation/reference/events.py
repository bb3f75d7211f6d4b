"""Payloads of the reference lists' outbox events (`reference.*`)."""

from __future__ import annotations

from typing import ClassVar

from mediation.outbox.payloads import EventPayload


class ReferenceItemCreated(EventPayload):
    aggregate_type: ClassVar[str] = "reference_item"
    event_types: ClassVar[tuple[str, ...]] = ("reference.item_created",)
    kind: str
    code: str
    label_zh: str


class ReferenceItemUpdated(ReferenceItemCreated):
    event_types = ("reference.item_updated",)
    changed: list[str]
