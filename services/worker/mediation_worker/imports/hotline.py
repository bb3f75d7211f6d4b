"""Writing the checked rows of a hotline register as historical calls.

Historical: never flagged (no supervisor is alerted about a call of 2021), no follow-up due,
no outbox events; the timeline has the call logged at its own time by the register and one
`imported` entry at the time of the import. The callback number, kept only with consent, is
sealed like a live call's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert

from mediation.clock import CENTER_TZ
from mediation.hotline import events as call_events
from mediation.hotline.contracts import RiskAssessment
from mediation.hotline.crypto import FieldCipher
from mediation.hotline.enums import MINOR_BANDS, CallEventKind
from mediation.hotline.models import HotlineCall, HotlineCallEvent
from mediation.ids import uuid7
from mediation.imports.hotline import ended
from mediation.privacy import keyed_hash
from mediation_worker.imports.writing import BATCH, REGISTER, Progress, Records, Writer

# The register gives a level, not the structured assessment: all dimensions unrecorded.
_LEVEL_ONLY = RiskAssessment(
    suicidal_desire=False,
    suicidal_capability=False,
    suicidal_intent=False,
    notes="历史台账导入：原登记仅记录风险等级，未做结构化评估。",
).model_dump(mode="json")


class CallWriter(Writer):
    def setup(self) -> None:
        settings = self.settings
        self.cipher = FieldCipher.from_setting(
            settings.encryption_keys.get_secret_value(), settings.crypto_profile
        )
        self.key = settings.pii_hash_key.get_secret_value()

    async def write(self, records: Records, progress: Progress) -> int:
        done = 0
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            calls, events = [], []
            for row_no, rec in batch:
                call, timeline = self._call(row_no, rec)
                calls.append(call)
                events.extend(timeline)
            await self.session.execute(insert(HotlineCall.__table__), calls)
            await self.session.execute(insert(HotlineCallEvent.__table__), events)
            done += len(batch)
            await progress(done)
        return done

    def _call(
        self, row_no: int, rec: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        call_id = uuid7()
        started = rec["started_at"].replace(tzinfo=CENTER_TZ)
        end = ended(rec)
        number = rec["callback_number"]
        sealed = self.cipher.encrypt(number, context=call_id.bytes) if number else None
        band = rec["caller_age_band"]
        call = {
            "id": call_id,
            "unit_id": rec["unit"].id,
            "unit_path": rec["unit"].path,
            "counselor_id": rec["counselor_id"],
            "created_by": self.imp.uploaded_by_id,
            "started_at": started,
            "ended_at": end.replace(tzinfo=CENTER_TZ) if end else None,
            "duration_seconds": rec["duration_minutes"] * 60
            if rec["duration_minutes"] is not None
            else None,
            "channel": rec["channel"],
            "call_type": rec["call_type"],
            "caller_anonymous": rec["caller_alias"] is None,
            "caller_alias": rec["caller_alias"],
            "caller_age_band": band,
            "caller_gender": rec["caller_gender"],
            "caller_is_minor": (band in MINOR_BANDS) if band is not None else None,
            "caller_hash": keyed_hash(self.key, "phone", number, self.settings.crypto_profile)
            if number
            else None,
            "callback_consent": rec["consent"],
            "callback_number_enc": sealed.blob if sealed else None,
            "callback_key_id": sealed.key_id if sealed else None,
            "topics": rec["topics"],
            "risk_level": rec["risk_level"],
            "imminent_risk": False,
            "risk_assessment": _LEVEL_ONLY if rec["risk_level"] is not None else None,
            "actions": rec["actions"],
            "referral_to": rec["referral_to"],
            "summary": rec["summary"],
            "version": 1,
            "timeline_seq": 2,
            **self.sourced(row_no),
        }
        events = [
            self._event(call_id, 1, CallEventKind.created, started, None, REGISTER, {}),
            self._event(
                call_id,
                2,
                CallEventKind.imported,
                self.now,
                self.imp.uploaded_by_id,
                self.imp.uploaded_by_name,
                {**self.source(row_no), "deidentified": rec["deidentified"]},
            ),
        ]
        return call, events

    @staticmethod
    def _event(
        call_id: Any,
        seq: int,
        kind: CallEventKind,
        at: datetime,
        actor_id: Any,
        actor_name: str,
        detail: dict[str, Any],
    ) -> dict[str, Any]:
        return call_events.entry_fields(
            call_id, seq, kind, at=at, actor_id=actor_id, actor_name=actor_name, detail=detail
        )
