"""The 公益微课 micro-class series and their classes."""

from __future__ import annotations

import uuid
from datetime import datetime

from mediation.clock import center_date
from mediation.contracts.changes import patch_fields
from mediation.errors import Conflict, Unprocessable
from mediation.org.tree import ENDS_BEFORE_START
from mediation.outreach import rules
from mediation.outreach.events import ClassHeld, ClassUpdated, SeriesCreated, SeriesUpdated
from mediation.outreach.models import (
    ClassSeries,
    MicroClass,
)
from mediation.outreach.rules import (
    next_occurrence,
    on_schedule,
)
from mediation_api.outreach.base import (
    CLASS_NOT_FOUND,
    SERIES_NOT_FOUND,
    OutreachBase,
)
from mediation_api.outreach.contracts import (
    ClassCreate,
    ClassOut,
    ClassUpdate,
    SeriesCreate,
    SeriesOut,
    SeriesTotals,
    SeriesUpdate,
)
from mediation_api.request_service import for_change
from mediation_api.shown import shown


class ClassService(OutreachBase):
    async def get_series(self, series_id: uuid.UUID, *, for_update: bool = False) -> ClassSeries:
        return await self._get(ClassSeries, series_id, SERIES_NOT_FOUND, for_update)

    async def create_series(self, body: SeriesCreate) -> ClassSeries:
        place = await self._place(body.unit_id, "body.unit_id")
        starts_on = body.starts_on or self.today()
        if body.ends_on is not None and body.ends_on < starts_on:
            raise Unprocessable(
                "ends_on is before the series starts.", field="body.ends_on", code=ENDS_BEFORE_START
            )
        series = ClassSeries(
            unit_id=place.id,
            unit_path=place.path,
            title=body.title,
            description=body.description,
            platform=body.platform,
            weekday=body.weekday,
            start_time=body.start_time,
            default_duration_minutes=body.default_duration_minutes,
            starts_on=starts_on,
            ends_on=body.ends_on,
            created_by=self.principal.id,
            version=1,
        )
        return await self._add(
            series,
            lambda: SeriesCreated(
                series_id=series.id,
                unit_id=series.unit_id,
                title=series.title,
                weekday=series.weekday,
                start_time=series.start_time.strftime("%H:%M"),
            ),
        )

    async def update_series(
        self, series_id: uuid.UUID, body: SeriesUpdate, if_match: str | None
    ) -> ClassSeries:
        series = await for_change(self.get_series, series_id, if_match)
        changes = patch_fields(body, "title", "weekday", "start_time", "default_duration_minutes")
        ends_on = changes.get("ends_on", series.ends_on)
        if ends_on is not None and ends_on < series.starts_on:
            raise Unprocessable(
                "ends_on is before the series starts.", field="body.ends_on", code=ENDS_BEFORE_START
            )
        if ends_on is not None:
            totals = (await self.repo.series_totals({series.id})).get(series.id)
            last = totals[3] if totals else None
            if last is not None and center_date(last) > ends_on:
                raise Unprocessable(
                    "A class was held after that day; the series cannot end before it.",
                    field="body.ends_on",
                    code=rules.SERIES_ENDS_BEFORE_CLASS,
                )
        for key, value in changes.items():
            setattr(series, key, value)
        return await self._save(
            series,
            lambda names: SeriesUpdated(series_id=series.id, unit_id=series.unit_id, changed=names),
        )

    async def series_out(self, series: list[ClassSeries]) -> list[SeriesOut]:
        units = await self.repo.units({s.unit_id for s in series})
        totals = await self.repo.series_totals({s.id for s in series})
        now, today = self.clock.now(), self.today()
        out = []
        for s in series:
            n, people, minutes, last = totals.get(s.id, (0, 0, 0, None))
            unit = units.get(s.unit_id)
            out.append(
                shown(
                    SeriesOut,
                    s,
                    unit_name=unit.name if unit else None,
                    start_time=s.start_time.strftime("%H:%M"),
                    active=s.ends_on is None or s.ends_on >= today,
                    next_class_at=next_occurrence(
                        s.weekday, s.start_time, s.starts_on, s.ends_on, now
                    ),
                    totals=SeriesTotals(
                        classes_held=n, participants=people, minutes=minutes, last_class_at=last
                    ),
                )
            )
        return out

    # --- micro-classes ------------------------------------------------------------------
    async def get_class(self, class_id: uuid.UUID, *, for_update: bool = False) -> MicroClass:
        return await self._get(MicroClass, class_id, CLASS_NOT_FOUND, for_update)

    async def _check_held_at(
        self, series: ClassSeries, held_at: datetime, exclude: uuid.UUID | None
    ) -> None:
        day = center_date(held_at)
        if day < series.starts_on or (series.ends_on is not None and day > series.ends_on):
            raise Unprocessable(
                "The series was not running on that day (Beijing time).",
                field="body.held_at",
                code=rules.SERIES_NOT_RUNNING,
            )
        existing = await self.repo.class_at(series.id, held_at)
        if existing is not None and existing != exclude:
            # Recording the same class twice would inflate the running totals.
            raise Conflict(
                "A class of this series is already recorded at that time.",
                code=rules.CLASS_RECORDED,
            )

    async def create_class(self, body: ClassCreate) -> MicroClass:
        series = await self.repo.scoped(
            ClassSeries, self.principal, body.series_id, for_update=True
        )
        if series is None:
            raise Unprocessable(SERIES_NOT_FOUND, field="body.series_id", code=rules.SERIES_UNKNOWN)
        await self._check_held_at(series, body.held_at, None)
        mc = MicroClass(
            series_id=series.id,
            unit_id=series.unit_id,
            unit_path=series.unit_path,
            held_at=body.held_at,
            topic=body.topic,
            lecturer=body.lecturer,
            duration_minutes=body.duration_minutes or series.default_duration_minutes,
            participants=body.participants,
            notes=body.notes,
            created_by=self.principal.id,
            version=1,
        )
        self.repo.add(mc)
        await self.session.flush()
        n, people, _, _ = (await self.repo.series_totals({series.id}))[series.id]
        await self._tell(
            mc,
            lambda: ClassHeld(
                class_id=mc.id,
                series_id=series.id,
                series_title=series.title,
                unit_id=mc.unit_id,
                held_at=mc.held_at,
                topic=mc.topic,
                lecturer=mc.lecturer,
                duration_minutes=mc.duration_minutes,
                participants=mc.participants,
                classes_held=n,
                participants_total=people,
            ),
        )
        return mc

    async def update_class(
        self, class_id: uuid.UUID, body: ClassUpdate, if_match: str | None
    ) -> MicroClass:
        mc = await for_change(self.get_class, class_id, if_match)
        changes = patch_fields(
            body, "held_at", "topic", "lecturer", "duration_minutes", "participants"
        )
        if "held_at" in changes:
            series = await self.repo.scoped(ClassSeries, self.principal, mc.series_id)
            assert series is not None  # a class sits where its series sits
            await self._check_held_at(series, changes["held_at"], mc.id)
        for key, value in changes.items():
            setattr(mc, key, value)
        return await self._save(
            mc,
            lambda names: ClassUpdated(
                class_id=mc.id,
                series_id=mc.series_id,
                unit_id=mc.unit_id,
                changed=names,
                participants=mc.participants,
            ),
        )

    async def classes_out(self, classes: list[MicroClass]) -> list[ClassOut]:
        series = await self.repo.series_titles({c.series_id for c in classes})
        out = []
        for c in classes:
            s = series.get(c.series_id)
            out.append(
                shown(
                    ClassOut,
                    c,
                    series_title=s.title if s else None,
                    on_schedule=bool(s and on_schedule(c.held_at, s.weekday, s.start_time)),
                )
            )
        return out

    # --- residents' opinions ------------------------------------------------------------
