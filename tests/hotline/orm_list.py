"""The call list as the ORM path read it before the hand-written statements
(`mediation_api/hotline/reads.py`): kept here only as the oracle of
`test_calls.py::test_the_list_statement_answers_as_the_model_path`. The page, the repeat
callers' counts, the counselors' names and the visible cases in five to seven statements, a
`CallListItem` per call validated and dumped by the response model, and each call shown
logged with `record_access` (an `AccessLogEntry` per call, audited by the chain's flush
hook)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import any_, func, not_, or_, select, tuple_

from mediation.contracts.common import Page
from mediation.hotline.contracts import CallListItem
from mediation.hotline.enums import CallSort
from mediation.hotline.models import HotlineCall
from mediation.privacy import mask_phone
from mediation.reference.data import ReferenceKind
from mediation_api.hotline.repository import CallFilters, _paths_filter
from mediation_api.hotline.service import HotlineService
from mediation_api.pagination import build_page
from mediation_api.reference.service import ReferenceService
from mediation_api.shown import shown
from mediation_api.visibility import Ref


async def page(
    self: HotlineService,
    f: CallFilters,
    sort: CallSort,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[HotlineCall]:
    """`HotlineRepository.page` as it was: limit+1 calls of the workstations."""
    stmt = select(HotlineCall).where(_paths_filter(HotlineCall.unit_path, await self.paths()))
    if f.unit_id is not None:
        stmt = stmt.where(HotlineCall.unit_id == f.unit_id)
    if f.counselor_id is not None:
        stmt = stmt.where(HotlineCall.counselor_id == f.counselor_id)
    if f.started_from is not None:
        stmt = stmt.where(HotlineCall.started_at >= f.started_from)
    if f.started_before is not None:
        stmt = stmt.where(HotlineCall.started_at < f.started_before)
    if f.call_type is not None:
        stmt = stmt.where(HotlineCall.call_type == f.call_type)
    if f.risk_level is not None:
        stmt = stmt.where(HotlineCall.risk_level == f.risk_level)
    if f.imminent is not None:
        stmt = stmt.where(
            HotlineCall.imminent_risk if f.imminent else not_(HotlineCall.imminent_risk)
        )
    if f.flagged is True:
        stmt = stmt.where(
            HotlineCall.flagged_at.is_not(None), HotlineCall.acknowledged_at.is_(None)
        )
    elif f.flagged is False:
        stmt = stmt.where(
            or_(HotlineCall.flagged_at.is_(None), HotlineCall.acknowledged_at.is_not(None))
        )
    if f.follow_up_pending is True:
        stmt = stmt.where(
            HotlineCall.follow_up_due.is_not(None), HotlineCall.follow_up_done_at.is_(None)
        )
    elif f.follow_up_pending is False:
        stmt = stmt.where(
            or_(HotlineCall.follow_up_due.is_(None), HotlineCall.follow_up_done_at.is_not(None))
        )
    if f.topic is not None:
        stmt = stmt.where(any_(HotlineCall.topics) == f.topic)
    if f.caller_hash is not None:
        stmt = stmt.where(HotlineCall.caller_hash == f.caller_hash)
    if f.minor is not None:
        stmt = stmt.where(HotlineCall.caller_is_minor.is_(f.minor))
    key = tuple_(HotlineCall.started_at, HotlineCall.id)
    if sort is CallSort.newest:
        if after is not None:
            stmt = stmt.where(key < after)
        stmt = stmt.order_by(HotlineCall.started_at.desc(), HotlineCall.id.desc())
    else:
        if after is not None:
            stmt = stmt.where(key > after)
        stmt = stmt.order_by(HotlineCall.started_at, HotlineCall.id)
    return list((await self.session.scalars(stmt.limit(limit + 1))).all())


async def callers_seen_elsewhere(
    self: HotlineService, paths: Sequence[str], calls: Sequence[HotlineCall]
) -> set[uuid.UUID]:
    """Ids among `calls` whose caller also made another call (in scope)."""
    hashes = {c.caller_hash for c in calls if c.caller_hash}
    if not hashes:
        return set()
    stmt = (
        select(HotlineCall.caller_hash, func.count())
        .where(_paths_filter(HotlineCall.unit_path, paths), HotlineCall.caller_hash.in_(hashes))
        .group_by(HotlineCall.caller_hash)
    )
    counts = {h: n for h, n in (await self.session.execute(stmt)).all()}
    return {c.id for c in calls if c.caller_hash and counts.get(c.caller_hash, 0) > 1}


async def list_items(self: HotlineService, calls: list[HotlineCall]) -> list[CallListItem]:
    paths = await self.paths()
    repeat = await callers_seen_elsewhere(self, paths, calls)
    names = await self.repo.names({c.counselor_id for c in calls})
    seen = await self._cases_seen({c.case_id for c in calls})
    items = []
    for c in calls:
        # The list is a read of each call shown: one access-log entry per call.
        self._log("list", c.id)
        items.append(
            shown(
                CallListItem,
                c,
                counselor_name=names.get(c.counselor_id),
                callback_number_masked=mask_phone(self._callback_number(c)),
                repeat_caller=c.id in repeat,
                reviewed=c.reviewed_at is not None,
                case_id=c.case_id if seen.can_see(Ref.case, c.case_id) else None,
            )
        )
    return items


async def orm_list_json(
    self: HotlineService,
    filters: CallFilters,
    same_caller_as: uuid.UUID | None,
    sort: CallSort,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> bytes:
    """The list as the ORM path built it (in place of `HotlineService.list_json`)."""
    topics = [filters.topic] if filters.topic else []
    await ReferenceService(self.session, self.clock).require_known(
        ReferenceKind.hotline_topic, topics, "query.topic"
    )
    if same_caller_as:
        call = await self.get_call(same_caller_as)  # 404 unless visible
        filters = replace(filters, caller_hash=call.caller_hash or "")
    rows = await page(self, filters, sort, after, limit)
    items, next_cursor = build_page(
        rows, limit, lambda c: {"s": c.started_at.isoformat(), "i": str(c.id), "o": sort.value}
    )
    out = Page[CallListItem](items=await list_items(self, items), next_cursor=next_cursor)
    return out.model_dump_json().encode()
