"""Outreach counts for a period and a set of subtrees: what the monthly statistics report
(activities and participants, classes and participants, opinions collected). Shared, so the API
summary and the worker's monthly statistics count the same way.

Days are Beijing days: an activity counts on its `held_on`, a class on the local date of its
`held_at`, an opinion on its `collected_on`. Each query is a range on the date column plus a
prefix match on `unit_path`, served by the (date, unit_path) indexes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from mediation.clock import CENTER_TZ
from mediation.outreach.enums import ActivityVenue, OpinionStatus
from mediation.outreach.models import MicroClass, OutreachActivity, ResidentOpinion


@dataclass
class OutreachCounts:
    activities: int = 0
    activity_participants: int = 0
    # venue -> (activities, participants)
    by_venue: dict[ActivityVenue, tuple[int, int]] = field(default_factory=dict)
    classes: int = 0
    class_participants: int = 0
    opinions: int = 0
    opinions_by_status: dict[OpinionStatus, int] = field(default_factory=dict)


def under(column: InstrumentedAttribute[str], prefixes: Sequence[str]) -> ColumnElement[bool]:
    """`column` lies in one of the subtrees (unit paths) given; nothing when none is given."""
    if not prefixes:
        return false()
    return or_(*(column.like(_escape(p) + "%", escape="\\") for p in prefixes))


def _escape(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def local_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in Beijing time, as instants."""
    start = datetime.combine(first, time(0), tzinfo=CENTER_TZ)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=CENTER_TZ)
    return start, end


async def outreach_counts(
    session: AsyncSession, prefixes: Sequence[str], first: date, last: date
) -> OutreachCounts:
    """Counts of the days `first`..`last` (inclusive) in the subtrees `prefixes`."""
    out = OutreachCounts()
    a = OutreachActivity
    rows = await session.execute(
        select(a.venue, func.count(), func.coalesce(func.sum(a.participants), 0))
        .where(a.held_on >= first, a.held_on <= last, under(a.unit_path, prefixes))
        .group_by(a.venue)
    )
    for venue, n, people in rows.all():
        out.by_venue[venue] = (int(n), int(people))
        out.activities += int(n)
        out.activity_participants += int(people)

    start, end = local_bounds(first, last)
    c = MicroClass
    n, people = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(c.participants), 0)).where(
                c.held_at >= start, c.held_at < end, under(c.unit_path, prefixes)
            )
        )
    ).one()
    out.classes, out.class_participants = int(n), int(people)

    o = ResidentOpinion
    rows = await session.execute(
        select(o.status, func.count())
        .where(o.collected_on >= first, o.collected_on <= last, under(o.unit_path, prefixes))
        .group_by(o.status)
    )
    for status, n in rows.all():
        out.opinions_by_status[status] = int(n)
        out.opinions += int(n)
    return out
