"""Logging a call through the ORM, as it was before the write was one statement
(`mediation_api.hotline.write`): the oracle of tests/hotline/test_calls.py, which checks the
statement's answer, rows, access-log rows and audit entries against this path's."""

from __future__ import annotations

from mediation.hotline.contracts import CallCreate, CallOut
from mediation.hotline.enums import CallEventKind
from mediation.hotline.models import HotlineCall
from mediation.hotline.rules import is_flagged_risk
from mediation.timeline import holds_lock
from mediation_api.hotline.service import HotlineService


async def orm_create(self: HotlineService, body: CallCreate) -> tuple[HotlineCall, CallOut]:
    call = await self.new_call(body)
    self.repo.add(call)
    holds_lock(self.session, call)
    await self._event(call, CallEventKind.created)
    if is_flagged_risk(call.risk_level, call.imminent_risk):
        await self._flag(call)
    await self.session.flush()
    return call, await self.call_out(call, action="create", unmask=False)
