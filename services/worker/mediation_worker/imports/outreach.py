"""Writing the checked rows of an outreach register: activities, and micro-classes in their
series (a series of the unit with the row's title, else one made for the register, ended on
its last class so no class is scheduled from it). Historical: no outbox events."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select

from mediation.clock import CENTER_TZ
from mediation.ids import uuid7
from mediation.imports.outreach import OutreachRecord
from mediation.outreach.enums import Weekday
from mediation.outreach.models import ClassSeries, MicroClass, OutreachActivity
from mediation_worker.imports.writing import BATCH, Progress, Records, Writer


class OutreachWriter(Writer):
    async def write(self, records: Records, progress: Progress) -> int:
        series = await self._series(
            [r for _, r in records if r["record"] is OutreachRecord.micro_class]
        )
        done = 0
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            activities = [
                self._activity(n, r) for n, r in batch if r["record"] is OutreachRecord.activity
            ]
            classes = [
                self._class(n, r, series[(r["unit"].id, r["series"])])
                for n, r in batch
                if r["record"] is OutreachRecord.micro_class
            ]
            if activities:
                await self.session.execute(insert(OutreachActivity.__table__), activities)
            if classes:
                await self.session.execute(insert(MicroClass.__table__), classes)
            done += len(batch)
            await progress(done)
        return done

    def _source(self, row_no: int) -> dict[str, Any]:
        return {"created_by": self.imp.uploaded_by_id, "version": 1, **self.sourced(row_no)}

    def _activity(self, row_no: int, rec: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": uuid7(),
            "unit_id": rec["unit"].id,
            "unit_path": rec["unit"].path,
            "venue": rec["venue"],
            "title": rec["title"],
            "held_on": rec["held"],
            "address": rec["address"],
            "organiser": rec["organiser"],
            "partners": [],
            "participants": rec["participants"],
            "notes": rec["notes"],
            **self._source(row_no),
        }

    def _class(self, row_no: int, rec: dict[str, Any], series_id: uuid.UUID) -> dict[str, Any]:
        return {
            "id": uuid7(),
            "series_id": series_id,
            "unit_id": rec["unit"].id,
            "unit_path": rec["unit"].path,
            "held_at": rec["held"].replace(tzinfo=CENTER_TZ),
            "topic": rec["title"],
            "lecturer": rec["lecturer"],
            "duration_minutes": rec["duration_minutes"],
            "participants": rec["participants"],
            "notes": rec["notes"],
            **self._source(row_no),
        }

    async def _series(self, classes: list[dict[str, Any]]) -> dict[tuple[uuid.UUID, str], Any]:
        """(unit, title) -> series id: the unit's series of that title, else a new one
        spanning the register's classes."""
        wanted: dict[tuple[uuid.UUID, str], list[dict[str, Any]]] = {}
        for rec in classes:
            wanted.setdefault((rec["unit"].id, rec["series"]), []).append(rec)
        out: dict[tuple[uuid.UUID, str], Any] = {}
        for (unit_id, title), recs in wanted.items():
            existing = await self.session.scalar(
                select(ClassSeries.id)
                .where(ClassSeries.unit_id == unit_id, ClassSeries.title == title)
                .order_by(ClassSeries.created_at)
                .limit(1)
            )
            if existing is not None:
                out[(unit_id, title)] = existing
                continue
            first = min(r["held"] for r in recs)
            last = max(r["held"] for r in recs)
            series = ClassSeries(
                id=uuid7(),
                unit_id=unit_id,
                unit_path=recs[0]["unit"].path,
                title=title,
                description="历史台账导入",
                weekday=Weekday.of(first.isoweekday()),
                start_time=first.time(),
                default_duration_minutes=recs[0]["duration_minutes"],
                starts_on=first.date(),
                ends_on=last.date(),
                created_by=self.imp.uploaded_by_id,
                version=1,
            )
            self.session.add(series)
            out[(unit_id, title)] = series.id
        await self.session.flush()
        return out
