"""Writing the checked rows of a cases file as historical cases.

Historical means: no deadlines (nothing can fall overdue), no outbox events (no
notifications, no webhooks), the register's dates on the timeline and one `imported` entry
at the time of the import naming the file and row. Original numbers are kept; the others
are numbered in their year's sequence after the kept ones."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from mediation.cases.enums import (
    AgreementForm,
    CaseEventType,
    CaseStatus,
    Complexity,
    FlareUpRisk,
    FollowUpMethod,
    PartyKind,
    PartySide,
    PerformanceStatus,
    Satisfaction,
)
from mediation.cases.models import (
    AgreementPerformance,
    Case,
    CaseAgreement,
    CaseEvent,
    CaseFollowUp,
    CaseParty,
)
from mediation.cases.numbers import case_number, case_number_ascii
from mediation.clock import CENTER_TZ
from mediation.ids import uuid7
from mediation.imports.rows import UnitRef
from mediation.privacy import birth_date, keyed_hash
from mediation_worker.imports.writing import BATCH, REGISTER, Progress, Records, Writer

# The level that handles a case of each complexity (as at intake).
_HANDLING = {
    Complexity.simple: "grid",
    Complexity.complex: "street",
    Complexity.difficult: "district",
}
_DONE_AT = {
    CaseStatus.resolved: "resolved_at",
    CaseStatus.failed: "failed_at",
    CaseStatus.withdrawn: "withdrawn_at",
    CaseStatus.rejected: "rejected_at",
}


def at(d: date | None) -> datetime | None:
    """A register's day as the start of that day in the center's zone."""
    return datetime.combine(d, time(0), tzinfo=CENTER_TZ) if d else None


def _age(id_number: str, on: date) -> int:
    born = birth_date(id_number)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class CaseWriter(Writer):
    def setup(self) -> None:
        self.units: dict[uuid.UUID, UnitRef] = {
            u.id: u for u in self.lookups.units_by_code.values()
        }
        self.key = self.settings.pii_hash_key.get_secret_value()
        self.profile = self.settings.crypto_profile
        self.children: list[Any] = []
        self.timeline: list[dict[str, Any]] = []

    async def write(self, records: Records, progress: Progress) -> int:
        # Numbered rows first, so the year's sequence continues after the register's numbers.
        numbered = [(r, x) for r, x in records if x["number_parts"]]
        unnumbered = [(r, x) for r, x in records if not x["number_parts"]]
        done = 0
        for group in (numbered, unnumbered):
            if group is unnumbered and numbered:
                await self._advance_sequences(numbered)
            for start in range(0, len(group), BATCH):
                batch = group[start : start + BATCH]
                numbers = await self._numbers([rec for _, rec in batch if not rec["number_parts"]])
                for row_no, rec in batch:
                    await self._case(row_no, rec, numbers)
                # Cases first, then what refers to them (no ORM relationships to order them).
                await self.session.flush()
                self.session.add_all(self.children)
                self.children = []
                await self.session.flush()
                await self.session.execute(insert(CaseEvent.__table__), self.timeline)
                self.timeline = []
                self.session.expunge_all()
                done += len(group[start : start + BATCH])
                await progress(done)
        await self._link_repeats()
        return done

    async def _advance_sequences(self, numbered: list[tuple[int, dict[str, Any]]]) -> None:
        """A district-year's sequence that already exists continues after the largest number
        the register gave (so live intake never hands out an imported number)."""
        tops: dict[tuple[uuid.UUID, int], int] = {}
        for _, rec in numbered:
            district = rec["unit"].district_id
            year, seq = rec["number_parts"]
            tops[(district, year)] = max(tops.get((district, year), 0), seq)
        for (district, year), top in tops.items():
            name = f"case_number_{district.hex}_{year}"
            exists = await self.session.scalar(select(func.to_regclass(name)))
            if exists is not None:
                await self.session.execute(
                    text(f'SELECT setval(\'"{name}"\', greatest(last_value, :top)) FROM "{name}"'),
                    {"top": top},
                )

    async def _numbers(
        self, unnumbered: list[dict[str, Any]]
    ) -> dict[tuple[uuid.UUID, int], list[int]]:
        """The next numbers of each district-year sequence the rows need, one statement per
        district-year (taken in row order, so a year's rows are numbered as they come)."""
        need: dict[tuple[uuid.UUID, int], int] = {}
        for rec in unnumbered:
            key = (rec["unit"].district_id, rec["received_on"].year)
            need[key] = need.get(key, 0) + 1
        out: dict[tuple[uuid.UUID, int], list[int]] = {}
        for (district, year), n in need.items():
            rows = await self.session.execute(
                text(
                    "SELECT case_number_next(:d, :y) FROM generate_series(1, :n) AS g(i) ORDER BY 1"
                ),
                {"d": district, "y": year, "n": n},
            )
            out[(district, year)] = [int(r[0]) for r in rows.all()]
            out[(district, year)].reverse()  # popped from the end: smallest first
        return out

    async def _case(
        self, row_no: int, rec: dict[str, Any], numbers: dict[tuple[uuid.UUID, int], list[int]]
    ) -> None:
        unit: UnitRef = rec["unit"]
        assert unit.district_id is not None and unit.district_code and unit.district_name
        received = rec["received_on"]
        if rec["number_parts"]:
            year, seq = rec["number_parts"]
            number, number_ascii = rec["number"], rec["number_ascii"]
        else:
            year = received.year
            seq = numbers[(unit.district_id, year)].pop()
            number = case_number(unit.district_name, year, seq)
            number_ascii = case_number_ascii(unit.district_code, year, seq)
        outcome: CaseStatus = rec["outcome"]
        status = outcome
        if rec["followed_up_on"]:
            status = CaseStatus.followed_up
        if rec["closed_on"]:
            status = CaseStatus.closed
        lineage = [self.units[i] for i in unit.lineage_ids]
        level = _HANDLING[rec["complexity"]]
        handling = next((u for u in lineage if u.level == level), unit)
        building = next((u for u in reversed(lineage) if u.level == "building"), None)
        accepted_on = rec["accepted_on"] or (None if outcome is CaseStatus.rejected else received)
        parties = self._parties(rec, received)
        case_id = uuid7()
        case = Case(
            id=case_id,
            number=number,
            number_ascii=number_ascii,
            district_id=unit.district_id,
            year=year,
            seq=seq,
            title=rec["title"],
            facts=rec["facts"],
            claims=rec["claims"],
            category_code=rec["category"],
            source=rec["source"],
            complexity=rec["complexity"],
            risk_colour=rec["risk_colour"],
            status=status,
            unit_id=unit.id,
            unit_path=unit.path,
            building_id=building.id if building else None,
            handling_unit_id=handling.id,
            handling_unit_path=handling.path,
            address=rec["address"],
            occurred_at=at(rec["occurred_on"]),
            amount_involved=rec["amount_involved"],
            channels=[],
            handler_person_ids=[],
            reported_by_kind="user",
            reported_by_id=self.imp.uploaded_by_id,
            reported_by_name=self.imp.uploaded_by_name,
            is_repeat=False,
            received_at=at(received),
            accepted_at=at(accepted_on),
            followed_up_at=at(rec["followed_up_on"]),
            closed_at=at(rec["closed_on"]),
            reason=rec["outcome_note"],
            party_names=" ".join(p.name for p in parties),
            due_provisional=False,
            version=1,
            historical=True,
            import_id=self.imp.id,
            import_sha256=self.imp.sha256,
            import_row=row_no,
        )
        setattr(case, _DONE_AT[outcome], at(rec["outcome_on"]))
        self.session.add(case)
        for p in parties:
            p.case_id = case_id
        self.children.extend(parties)
        self._agreement(case_id, rec)
        events = self._timeline(rec, accepted_on, row_no)
        imported_by = (self.imp.uploaded_by_id, self.imp.uploaded_by_name)
        for seq_no, (etype, when, frm, to, data) in enumerate(events, start=1):
            mine = etype is CaseEventType.imported
            # Plain rows, inserted in one statement per batch: the timeline is most of the
            # rows an import writes (six per case), and ORM objects cost several times more.
            self.timeline.append(
                {
                    "id": uuid7(),
                    "case_id": case_id,
                    "seq": seq_no,
                    "type": etype,
                    "at": when,
                    "actor_kind": "user",
                    "actor_id": imported_by[0] if mine else None,
                    "actor_name": imported_by[1] if mine else REGISTER,
                    "client_id": None,
                    "request_id": None,
                    "from_status": frm,
                    "to_status": to,
                    "body": rec["outcome_note"] if to is outcome else None,
                    "data": data,
                }
            )
        case.timeline_seq = len(events)

    def _parties(self, rec: dict[str, Any], received: date) -> list[CaseParty]:
        out = []
        for pos, side in enumerate((PartySide.applicant, PartySide.respondent)):
            name = rec[f"{side.value}_name"]
            if name is None:
                continue
            phone, idn = rec[f"{side.value}_phone"], rec[f"{side.value}_id_number"]
            out.append(
                CaseParty(
                    id=uuid7(),
                    position=pos,
                    kind=PartyKind.person,
                    side=side,
                    name=name,
                    phone=phone,
                    id_number=idn,
                    is_minor=bool(idn and _age(idn, received) < 18),
                    phone_hash=keyed_hash(self.key, "phone", phone, self.profile)
                    if phone
                    else None,
                    id_hash=keyed_hash(self.key, "id", idn, self.profile) if idn else None,
                )
            )
        return out

    def _agreement(self, case_id: uuid.UUID, rec: dict[str, Any]) -> None:
        performance: PerformanceStatus | None = rec["performance"]
        if rec["outcome"] is CaseStatus.resolved and rec["agreement_terms"]:
            effective = rec["outcome_on"]
            self.children.append(
                CaseAgreement(
                    id=uuid7(),
                    case_id=case_id,
                    form=AgreementForm.written,
                    terms=rec["agreement_terms"],
                    amount=rec["agreement_amount"],
                    performance_method="见协议内容（历史台账）",
                    effective_on=effective,
                    signed_by_parties=True,
                    mediator_person_ids=[],
                    judicial_confirmation_until=effective + timedelta(days=30),
                    performance_status=performance or PerformanceStatus.pending,
                )
            )
            if performance is not None and performance is not PerformanceStatus.pending:
                self.children.append(
                    AgreementPerformance(
                        id=uuid7(),
                        case_id=case_id,
                        performed_on=rec["followed_up_on"] or effective,
                        status=performance,
                        amount=None,
                        note="历史台账导入",
                        recorded_at=self.now,
                        recorded_by_name=self.imp.uploaded_by_name,
                    )
                )
        if rec["followed_up_on"]:
            self.children.append(
                CaseFollowUp(
                    id=uuid7(),
                    case_id=case_id,
                    visited_at=at(rec["followed_up_on"]),
                    method=FollowUpMethod.visit,
                    performance=performance or PerformanceStatus.pending,
                    satisfaction=rec["satisfaction"] or Satisfaction.neutral,
                    flare_up_risk=FlareUpRisk.low,
                    notes="历史台账导入",
                    recorded_at=self.now,
                    recorded_by_id=self.imp.uploaded_by_id,
                    recorded_by_name=self.imp.uploaded_by_name,
                )
            )

    def _timeline(
        self, rec: dict[str, Any], accepted_on: date | None, row_no: int
    ) -> list[tuple[CaseEventType, datetime, CaseStatus | None, CaseStatus | None, dict[str, Any]]]:
        S, E = CaseStatus, CaseEventType
        outcome: CaseStatus = rec["outcome"]
        steps: list[Any] = [
            (E.created, at(rec["received_on"]), None, S.received, {"historical": True})
        ]
        current = S.received
        if accepted_on is not None:
            steps.append((E.accepted, at(accepted_on), current, S.accepted, {}))
            current = S.accepted
        done_type = {
            S.resolved: E.resolved,
            S.failed: E.failed,
            S.withdrawn: E.withdrawn,
            S.rejected: E.rejected,
        }[outcome]
        steps.append((done_type, at(rec["outcome_on"]), current, outcome, {}))
        current = outcome
        if rec["followed_up_on"]:
            steps.append((E.followed_up, at(rec["followed_up_on"]), current, S.followed_up, {}))
            current = S.followed_up
        if rec["closed_on"]:
            steps.append((E.closed, at(rec["closed_on"]), current, S.closed, {}))
        steps.append(
            (
                E.imported,
                self.now,
                None,
                None,
                self.source(row_no),
            )
        )
        return steps

    async def _link_repeats(self) -> None:
        """Repeat disputes both ways: an imported case is linked to earlier cases within 180
        days sharing a party's phone or ID number, and later cases to it."""
        for column, reason in (("phone_hash", "same_phone"), ("id_hash", "same_id_number")):
            await self.session.execute(
                text(
                    f"""
                    INSERT INTO case_links (id, case_id, related_case_id, reason)
                    SELECT DISTINCT ON (later, earlier) gen_random_uuid(), later, earlier, :reason
                    FROM (
                      SELECT CASE WHEN o.received_at <= c.received_at THEN c.id ELSE o.id END
                               AS later,
                             CASE WHEN o.received_at <= c.received_at THEN o.id ELSE c.id END
                               AS earlier
                      FROM cases c
                      JOIN case_parties p ON p.case_id = c.id AND p.{column} IS NOT NULL
                      JOIN case_parties q ON q.{column} = p.{column} AND q.case_id <> c.id
                      JOIN cases o ON o.id = q.case_id
                      WHERE c.import_id = :import_id
                        AND abs(extract(epoch FROM o.received_at - c.received_at)) <= 180 * 86400
                    ) pairs
                    ON CONFLICT DO NOTHING
                    """
                ),
                {"reason": reason, "import_id": self.imp.id},
            )
        await self.session.execute(
            text(
                "UPDATE cases SET is_repeat = true WHERE NOT is_repeat AND id IN "
                "(SELECT l.case_id FROM case_links l JOIN cases c "
                "ON c.id = l.case_id OR c.id = l.related_case_id WHERE c.import_id = :import_id)"
            ),
            {"import_id": self.imp.id},
        )
