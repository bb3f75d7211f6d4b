"""Timelines (a case's, a hotline call's, a session's history) are totally ordered: every
entry carries `seq`, its number within its record (1, 2, 3...), given in the write that adds
it and listed by it. Times cannot order them (entries of one request share a time, and the
clock is read once per entry), nor can UUIDv7 ids (random within a millisecond).

The record keeps the last number given (`timeline_seq`). The next one is taken under the
record's row lock, so concurrent writers to one record queue on it and never share a number
(a unique constraint on (record, seq) would refuse it anyway). A new record, not yet
written, is its own writer's alone.

Record locks are FOR NO KEY UPDATE, never FOR UPDATE: a transaction that has already added a
row referring to the record (a session, a document: a foreign key takes KEY SHARE on the
record) must not wait for another such transaction's KEY SHARE, or two of them deadlock."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy import event, func, inspect, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

_LOCKED = "timeline_locked"


@event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction: SessionTransaction) -> None:
    # Locks end with the transaction (a rolled-back savepoint may also have reset a counter in
    # memory): the next number is then read again under a fresh lock.
    session.info.pop(_LOCKED, None)


class HasTimeline(Protocol):
    id: uuid.UUID
    timeline_seq: int


def holds_lock(db: AsyncSession, owner: Any) -> None:
    """Tell the helper that this transaction loaded `owner` FOR UPDATE: its counter is current
    and nobody else can move it, so numbering needs no statement of its own."""
    db.info.setdefault(_LOCKED, set()).add((type(owner), owner.id))


async def next_seq(db: AsyncSession, owner: HasTimeline) -> int:
    """The number of the next entry on `owner`'s timeline."""
    key = (type(owner), owner.id)
    if not inspect(owner).pending and key not in db.info.get(_LOCKED, ()):
        # Lock, number and touch the record in one statement (an UPDATE takes the same
        # FOR NO KEY UPDATE lock): what the ORM would otherwise flush as a second one.
        model: Any = type(owner)
        taken, updated_at = (
            await db.execute(
                update(model)
                .where(model.id == owner.id)
                .values(timeline_seq=model.timeline_seq + 1, updated_at=func.now())
                .returning(model.timeline_seq, model.updated_at)
                .execution_options(synchronize_session=False)
            )
        ).one()
        set_committed_value(owner, "timeline_seq", taken)
        set_committed_value(owner, "updated_at", updated_at)
        holds_lock(db, owner)
        return int(taken)
    owner.timeline_seq = (owner.timeline_seq or 0) + 1
    return owner.timeline_seq
