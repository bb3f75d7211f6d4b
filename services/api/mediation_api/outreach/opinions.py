"""Residents' opinions (民意): collected, forwarded, answered, closed, or turned into a
dispute case."""

from __future__ import annotations

import uuid
from typing import Any

from mediation.auth.access_log import record_access
from mediation.auth.policy import Permission
from mediation.cases.contracts import CaseCreate
from mediation.cases.enums import CaseEventType
from mediation.cases.models import Case
from mediation.contracts.changes import patch_fields
from mediation.errors import Conflict, Unprocessable
from mediation.outbox.registry import model_for
from mediation.outreach import rules
from mediation.outreach.enums import (
    COLLECTOR_ROLES,
    OpinionStatus,
)
from mediation.outreach.events import OpinionPayload
from mediation.outreach.models import (
    ResidentOpinion,
)
from mediation.outreach.rules import (
    opinion_transition,
)
from mediation.privacy import mask_name, mask_phone
from mediation.reference.data import ReferenceKind
from mediation_api.cases.service import CaseService
from mediation_api.outreach.base import (
    CASE_FORWARD,
    OPINION_NOT_FOUND,
    OPINION_RECORD,
    OutreachBase,
)
from mediation_api.outreach.contracts import (
    OpinionAnswer,
    OpinionClose,
    OpinionCreate,
    OpinionForward,
    OpinionOut,
    OpinionToCase,
    OpinionUpdate,
)
from mediation_api.reference.service import ReferenceService
from mediation_api.request_service import for_change
from mediation_api.shown import shown
from mediation_api.visibility import Ref, Visibility, Visible


def _opinion_payload(type_: str, opinion: ResidentOpinion, **extra: Any) -> OpinionPayload:
    return model_for(type_, OpinionPayload)(
        opinion_id=opinion.id,
        unit_id=opinion.unit_id,
        category=opinion.category,
        status=opinion.status,
        **extra,
    )


class OpinionService(OutreachBase):
    async def get_opinion(
        self, opinion_id: uuid.UUID, *, for_update: bool = False
    ) -> ResidentOpinion:
        return await self._get(ResidentOpinion, opinion_id, OPINION_NOT_FOUND, for_update)

    async def _category(self, code: str, field: str) -> None:
        await ReferenceService(self.session, self.clock).require_enabled(
            ReferenceKind.opinion_category, code, field
        )

    async def create_opinion(self, body: OpinionCreate) -> ResidentOpinion:
        place = await self._place(body.unit_id, "body.unit_id")
        await self._category(body.category, "body.category")
        day = body.collected_on or self.today()
        collector_id = body.collector_id or self.principal.person_id
        if collector_id is None:
            raise Unprocessable(
                "Name who collected it.", field="body.collector_id", code=rules.COLLECTOR_INVALID
            )
        role = await self._role_on_line(collector_id, COLLECTOR_ROLES, place.path, day)
        if role is None:
            raise Unprocessable(
                "Opinions are collected by the grid, building and unit heads and the owners' "
                f"committee; this person holds none of those roles here on {day.isoformat()}.",
                field="body.collector_id",
                code=rules.COLLECTOR_INVALID,
            )
        opinion = ResidentOpinion(
            unit_id=place.id,
            unit_path=place.path,
            collector_id=collector_id,
            collector_role=role,
            collected_on=day,
            category=body.category,
            text=body.text,
            address=body.address,
            resident_name=body.resident_name,
            resident_phone=body.resident_phone,
            status=OpinionStatus.received,
            created_by=self.principal.id,
            version=1,
        )
        self.repo.add(opinion)
        # No resident data in events: they travel to webhooks and inboxes.
        await self._opinion_event("opinion.received", opinion, collector_id=collector_id)
        return opinion

    async def _opinion_event(self, type_: str, opinion: ResidentOpinion, **extra: Any) -> None:
        await self._tell(opinion, lambda: _opinion_payload(type_, opinion, **extra), type_)

    async def update_opinion(
        self, opinion_id: uuid.UUID, body: OpinionUpdate, if_match: str | None
    ) -> ResidentOpinion:
        opinion = await for_change(self.get_opinion, opinion_id, if_match)
        if opinion.status is not OpinionStatus.received:
            raise Conflict(
                "Only an opinion not yet forwarded or answered can be corrected.",
                code=rules.OPINION_SETTLED,
            )
        changes = patch_fields(body, "category", "text")
        if "category" in changes:
            await self._category(changes["category"], "body.category")
        for key, value in changes.items():
            setattr(opinion, key, value)
        type_ = "opinion.updated"
        return await self._save(
            opinion, lambda names: _opinion_payload(type_, opinion, changed=names), type_
        )

    async def _step(
        self,
        opinion_id: uuid.UUID,
        action: str,
        if_match: str | None,
        fields: dict[str, Any],
        type_: str,
        **extra: Any,
    ) -> ResidentOpinion:
        """A life-cycle step: the transition allowed from the status (409 otherwise), the
        step's fields, the version, and its event."""
        opinion = await for_change(self.get_opinion, opinion_id, if_match)
        opinion.status = opinion_transition(opinion.status, action)
        for key, value in fields.items():
            setattr(opinion, key, value)
        opinion.version += 1
        await self._opinion_event(type_, opinion, **extra)  # flushes first
        await self._tell_case(opinion)
        return opinion

    async def _tell_case(self, opinion: ResidentOpinion) -> None:
        """A step of an opinion turned into a case, on the case's timeline: the step, who and
        when. Not the answer or note: the case's readers need not be the opinion's (another
        permission and place), and it may name the resident."""
        if opinion.case_id is None:
            return
        await self._cases().record_linked(
            opinion.case_id,
            CaseEventType.opinion_changed,
            body=f"转立本案的居民意见{opinion.status.label_zh}。",
            data={"opinion_id": str(opinion.id), "opinion_status": opinion.status.value},
        )

    def _cases(self) -> CaseService:
        return CaseService(self.session, self.clock, self.settings, self.principal)

    async def forward(
        self, opinion_id: uuid.UUID, body: OpinionForward, if_match: str | None
    ) -> ResidentOpinion:
        fields = {"forwarded_to": body.forwarded_to, "forwarded_at": self.clock.now()}
        return await self._step(
            opinion_id,
            "forward",
            if_match,
            fields,
            "opinion.forwarded",
            forwarded_to=body.forwarded_to,
        )

    async def answer(
        self, opinion_id: uuid.UUID, body: OpinionAnswer, if_match: str | None
    ) -> ResidentOpinion:
        fields = {"answer": body.answer, "answered_at": self.clock.now()}
        return await self._step(opinion_id, "answer", if_match, fields, "opinion.answered")

    async def close(
        self, opinion_id: uuid.UUID, body: OpinionClose, if_match: str | None
    ) -> ResidentOpinion:
        fields = {"closed_at": self.clock.now(), "close_note": body.note}
        return await self._step(opinion_id, "close", if_match, fields, "opinion.closed")

    async def convert_to_case(
        self, opinion_id: uuid.UUID, body: OpinionToCase, if_match: str | None
    ) -> tuple[ResidentOpinion, Case]:
        """Registers a dispute case (source grid report) through the cases service and links
        both ways: the opinion keeps `case_id` and is forwarded to the case; the case's
        timeline names the opinion."""
        opinion = await for_change(self.get_opinion, opinion_id, if_match)
        if opinion.case_id is not None:
            seen = await self._cases_seen({opinion.case_id})
            raise Conflict(
                "This opinion was already turned into a case.",
                case_id=str(opinion.case_id) if seen.can_see(Ref.case, opinion.case_id) else None,
                code=rules.OPINION_HAS_CASE,
            )
        status = opinion_transition(opinion.status, "convert_to_case")
        first_line = opinion.text.strip().splitlines()[0] if opinion.text.strip() else "居民意见"
        values = body.model_dump(exclude_none=True)
        values.update(
            title=body.title or first_line[:60],
            facts=body.facts or opinion.text,
            unit_id=body.unit_id or opinion.unit_id,
        )
        cases = self._cases()
        case, _ = await cases.create(CaseCreate.model_validate(values))
        await cases.record(
            case,
            CaseEventType.commented,
            body="由居民意见（民意）转立。",
            data={"opinion_id": str(opinion.id)},
            emit_event=False,
        )
        now = self.clock.now()
        opinion.case_id = case.id
        opinion.status = status
        opinion.forwarded_to = f"{CASE_FORWARD} {case.number}"[:200]
        opinion.forwarded_at = now
        opinion.version += 1
        await self.session.flush()
        # Whoever hears of the opinion (people and systems of its unit and above) may read
        # the case only when it lies under the opinion's unit: otherwise it is not named.
        named = case.unit_path.startswith(opinion.unit_path)
        await self._opinion_event(
            "opinion.converted_to_case",
            opinion,
            **({"case_id": case.id, "case_number": case.number} if named else {}),
        )
        return opinion, case

    async def _cases_seen(self, ids: set[uuid.UUID | None]) -> Visible:
        """Which of the cases opinions became the reader may read: only those are named (the
        case may lie in another grid than the opinion)."""
        visibility = Visibility(self.session, self.principal, self.today())
        return await visibility.of({Ref.case: {i for i in ids if i is not None}})

    def _unmask(self) -> bool:
        return self.principal.can(Permission.pii_read)

    async def opinions_out(
        self, opinions: list[ResidentOpinion], *, single: bool = False
    ) -> list[OpinionOut]:
        """Resident name and phone unmasked only for a single record to a reader whose role
        needs them (and then written to the access log); lists always mask."""
        units = await self.repo.units({o.unit_id for o in opinions})
        names = await self.repo.person_names({o.collector_id for o in opinions})
        labels = await self.repo.category_labels(ReferenceKind.opinion_category)
        seen = await self._cases_seen({o.case_id for o in opinions})
        unmask = single and self._unmask()
        out = []
        for o in opinions:
            has_pii = bool(o.resident_name or o.resident_phone)
            if unmask and has_pii:
                record_access(
                    self.session,
                    self.principal,
                    action="read",
                    record_type=OPINION_RECORD,
                    record_id=o.id,
                )
            unit = units.get(o.unit_id)
            out.append(
                shown(
                    OpinionOut,
                    o,
                    unit_name=unit.name if unit else None,
                    collector_name=names.get(o.collector_id),
                    category_label=labels.get(o.category),
                    resident_name=o.resident_name if unmask else mask_name(o.resident_name),
                    resident_phone=o.resident_phone if unmask else mask_phone(o.resident_phone),
                    # The case number is part of where it went: named only to readers of
                    # the case.
                    forwarded_to=o.forwarded_to
                    if o.case_id is None or seen.can_see(Ref.case, o.case_id)
                    else CASE_FORWARD,
                    case_id=o.case_id if seen.can_see(Ref.case, o.case_id) else None,
                )
            )
        return out

    # --- duty rota ----------------------------------------------------------------------
