"""Every outbox event type and its payload model (`EVENT_MODELS`), collected from the
domains' payload modules; also importable as `mediation.outbox.events.EVENT_MODELS`.

A type is carried by exactly one model; a model may carry several types that say the same
(the case changes with nothing more to say, the worker's reminders). The notification
catalogue (`mediation.notifications.catalog`) describes the same types for people, and checks
at import time that the two agree."""

from __future__ import annotations

from typing import TypeVar

from mediation.auth.events import SignInLocked
from mediation.cases.events import CASE_PAYLOADS, CalendarYearLoaded, DeadlineRuleUpdated
from mediation.hotline.events import HighRiskPayload, HotlineReminder
from mediation.imports.events import ImportJobRequested
from mediation.notifications.events import SubscriptionDisabled, WebhookPing
from mediation.org.events import ORG_PAYLOADS
from mediation.outbox.models import OutboxEvent
from mediation.outbox.payloads import EventPayload
from mediation.outreach.events import OUTREACH_PAYLOADS
from mediation.reference.events import ReferenceItemCreated, ReferenceItemUpdated
from mediation.sessions.events import (
    SessionCancelled,
    SessionOutcomeRecorded,
    SessionPayload,
    SessionReminder,
    SessionRescheduled,
)
from mediation.stats.events import MonthlyReady, OpeningBalanceRecorded, RecomputeRequested

MODELS: tuple[type[EventPayload], ...] = (
    *CASE_PAYLOADS,
    CalendarYearLoaded,
    DeadlineRuleUpdated,
    SessionPayload,
    SessionRescheduled,
    SessionCancelled,
    SessionOutcomeRecorded,
    SessionReminder,
    HighRiskPayload,
    HotlineReminder,
    *ORG_PAYLOADS,
    *OUTREACH_PAYLOADS,
    ReferenceItemCreated,
    ReferenceItemUpdated,
    MonthlyReady,
    RecomputeRequested,
    OpeningBalanceRecorded,
    ImportJobRequested,
    SubscriptionDisabled,
    WebhookPing,
    SignInLocked,
)


def _collect() -> dict[str, type[EventPayload]]:
    found: dict[str, type[EventPayload]] = {}
    for model in MODELS:
        if not model.aggregate_type or not model.event_types:
            raise TypeError(f"{model.__name__} names no event type or aggregate type")
        for t in model.event_types:
            if t in found:
                raise TypeError(f"{t} is carried by {found[t].__name__} and {model.__name__}")
            found[t] = model
    return found


EVENT_MODELS: dict[str, type[EventPayload]] = _collect()

P = TypeVar("P", bound=EventPayload)


def model_for(event_type: str, base: type[P]) -> type[P]:
    """The payload model of `event_type`, which must be `base` or extend it."""
    own = EVENT_MODELS.get(event_type)
    if own is None or not issubclass(own, base):
        raise TypeError(f"{event_type} does not carry {base.__name__}")
    return own  # type: ignore[return-value]


def read_payload(event: OutboxEvent, model: type[P]) -> P:
    """The event's payload as its model reads it; `model` is what the caller relies on (the
    type's own model or one it extends), checked."""
    return model_for(event.type, model).model_validate(event.payload)
