"""Writing the checked rows of a sessions register: held sessions of their cases.

Historical: no bookings (nobody's calendar is held for 2021), no reminders, no outbox events.
The session's history has it scheduled and held at the register's times and one `imported`
entry; its case's timeline shows it held (a change to a case shows on its timeline)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text

from mediation.cases.enums import CaseEventType
from mediation.cases.models import CaseEvent
from mediation.clock import CENTER_TZ
from mediation.ids import uuid7
from mediation.imports.rows import CaseRef
from mediation.sessions.enums import SessionEventType, SessionStatus
from mediation.sessions.models import MediationSession, SessionEvent
from mediation_worker.imports.writing import BATCH, REGISTER, Progress, Records, Writer


class SessionWriter(Writer):
    async def write(self, records: Records, progress: Progress) -> int:
        seqs = await self._case_seqs(records)
        done = 0
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            rows, history, on_cases = [], [], []
            for row_no, rec in batch:
                row, events = self._session(row_no, rec)
                rows.append(row)
                history.extend(events)
                on_cases.append(self._on_case(row, seqs[rec["case"].id].pop()))
            await self.session.execute(insert(MediationSession.__table__), rows)
            await self.session.execute(insert(SessionEvent.__table__), history)
            await self.session.execute(insert(CaseEvent.__table__), on_cases)
            done += len(batch)
            await progress(done)
        return done

    async def _case_seqs(
        self, records: list[tuple[int, dict[str, Any]]]
    ) -> dict[uuid.UUID, list[int]]:
        """The case timeline numbers the sessions take, per case: its counter moves by the
        number of sessions under the case's row lock (as live writers' do)."""
        count: dict[uuid.UUID, int] = {}
        for _, rec in records:
            count[rec["case"].id] = count.get(rec["case"].id, 0) + 1
        out: dict[uuid.UUID, list[int]] = {}
        for case_id in sorted(count):  # a fixed order: no deadlock with another import
            n = count[case_id]
            top = await self.session.scalar(
                text(
                    "UPDATE cases SET timeline_seq = timeline_seq + :n WHERE id = :id "
                    "RETURNING timeline_seq"
                ),
                {"n": n, "id": case_id},
            )
            out[case_id] = list(range(top, top - n, -1))  # popped from the end: smallest first
        return out

    def _session(
        self, row_no: int, rec: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        case: CaseRef = rec["case"]
        session_id = uuid7()
        starts = rec["starts_at"].replace(tzinfo=CENTER_TZ)
        ends = rec["ends_at"].replace(tzinfo=CENTER_TZ)
        notes = f"调解员：{rec['mediators']}" if rec["mediators"] else None
        row = {
            "id": session_id,
            "case_id": case.id,
            "case_number": case.number,
            "unit_id": case.unit_id,
            "unit_path": case.unit_path,
            "kind": rec["kind"],
            "mode": rec["mode"],
            "status": SessionStatus.held,
            "starts_at": starts,
            "ends_at": ends,
            "place": rec["place"],
            "place_key": None,
            "meeting_info": None,
            "mediator_person_ids": [],
            "party_ids": [],
            "is_public": False,
            "privacy_reason": None,
            "privacy_note": None,
            "recording_consent": False,
            "rights_notice_given": False,
            "notes": notes,
            "attended_person_ids": [],
            "attended_party_ids": [],
            "held_ended_at": ends,
            "minutes": rec["minutes"],
            "outcome": rec["outcome"],
            "next_step": rec["next_step"],
            "next_step_note": None,
            "outcome_recorded_at": ends,
            "cancelled_at": None,
            "cancel_reason": None,
            "reschedule_count": 0,
            "created_by_name": self.imp.uploaded_by_name,
            "version": 1,
            "timeline_seq": 3,
            **self.sourced(row_no),
        }
        history = [
            self._event(session_id, 1, SessionEventType.scheduled, starts, None, REGISTER, {}),
            self._event(session_id, 2, SessionEventType.outcome_recorded, ends, None, REGISTER, {}),
            self._event(
                session_id,
                3,
                SessionEventType.imported,
                self.now,
                self.imp.uploaded_by_id,
                self.imp.uploaded_by_name,
                self.source(row_no),
            ),
        ]
        return row, history

    def _on_case(self, row: dict[str, Any], seq: int) -> dict[str, Any]:
        return {
            "id": uuid7(),
            "case_id": row["case_id"],
            "seq": seq,
            "type": CaseEventType.session_held,
            "at": row["ends_at"],
            "actor_kind": "user",
            "actor_id": None,
            "actor_name": REGISTER,
            "client_id": None,
            "request_id": None,
            "from_status": None,
            "to_status": None,
            "body": None,
            "data": {
                "session_id": str(row["id"]),
                "kind": row["kind"].value,
                "mode": row["mode"].value,
                "starts_at": row["starts_at"].isoformat(),
                "ends_at": row["ends_at"].isoformat(),
                "place": row["place"],
                "ended_at": row["ends_at"].isoformat(),
                "outcome": row["outcome"].value,
                "next_step": row["next_step"].value if row["next_step"] else None,
                "historical": True,
                "import_id": str(self.imp.id),
            },
        }

    @staticmethod
    def _event(
        session_id: uuid.UUID,
        seq: int,
        type_: SessionEventType,
        at: datetime,
        actor_id: uuid.UUID | None,
        actor_name: str,
        data: dict[str, Any],
    ) -> dict[str, Any]:
        return {
            "id": uuid7(),
            "session_id": session_id,
            "seq": seq,
            "type": type_,
            "at": at,
            "actor_kind": "user",
            "actor_id": actor_id,
            "actor_name": actor_name,
            "client_id": None,
            "request_id": None,
            "body": None,
            "data": data,
        }
