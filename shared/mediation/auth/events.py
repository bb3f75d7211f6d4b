"""Payloads of the sign-in security's outbox events (`security.*`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from mediation.outbox.payloads import EventPayload, PersonIds

SIGN_IN_LOCKED = "security.sign_in_locked"


class SignInLocked(EventPayload):
    """Repeated failed sign-ins from one address locked that address out of an account (to
    the security administrators)."""

    aggregate_type: ClassVar[str] = "account"
    event_types: ClassVar[tuple[str, ...]] = (SIGN_IN_LOCKED,)
    username: str
    source_ip: str
    failures: int
    locked_until: datetime
    recipient_person_ids: PersonIds
    account_id: uuid.UUID | None = None
