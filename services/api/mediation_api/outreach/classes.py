"""The 公益微课 micro-class series and their classes."""

from __future__ import annotations

import uuid
from datetime import datetime

from mediation.clock import CENTER_TZ
from mediation.contracts.changes import modified
from mediation.contracts.etag import check_if_match
from mediation.errors import Conflict, NotFound, Unprocessable
from mediation.org.tree import ENDS_BEFORE_START
from mediation.outbox.events import emit
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
    _null_fields,
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


class ClassService(OutreachBase):
    async def get_series(self, series_id: uuid.UUID, *, for_update: bool = False) -> ClassSeries:
        series = await self.repo.series(self.principal, series_id, for_update=for_update)
        if series is None:
            raise NotFound(SERIES_NOT_FOUND)
        return series

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
        self.repo.add(series)
        await self.session.flush()
        await emit(
            self.session,
            SeriesCreated(
                series_id=series.id,
                unit_id=series.unit_id,
                title=series.title,
                weekday=series.weekday,
                start_time=series.start_time.strftime("%H:%M"),
            ),
            aggregate_id=series.id,
            occurred_at=self.clock.now(),
            unit_path=series.unit_path,
            actor_id=self.principal.id,
        )
        return series

    async def update_series(
        self, series_id: uuid.UUID, body: SeriesUpdate, if_match: str | None
    ) -> ClassSeries:
        series = await self.get_series(series_id, for_update=True)
        check_if_match(if_match, series.id, series.version)
        changes = body.model_dump(exclude_unset=True)
        _null_fields(changes, ("title", "weekday", "start_time", "default_duration_minutes"))
        ends_on = changes.get("ends_on", series.ends_on)
        if ends_on is not None and ends_on < series.starts_on:
            raise Unprocessable(
                "ends_on is before the series starts.", field="body.ends_on", code=ENDS_BEFORE_START
            )
        if ends_on is not None:
            totals = (await self.repo.series_totals({series.id})).get(series.id)
            last = totals[3] if totals else None
            if last is not None and last.astimezone(CENTER_TZ).date() > ends_on:
                raise Unprocessable(
                    "A class was held after that day; the series cannot end before it.",
                    field="body.ends_on",
                    code=rules.SERIES_ENDS_BEFORE_CLASS,
                )
        for key, value in changes.items():
            setattr(series, key, value)
        if not modified(series):
            return series
        series.version += 1
        await self.session.flush()
        await emit(
            self.session,
            SeriesUpdated(series_id=series.id, unit_id=series.unit_id, changed=sorted(changes)),
            aggregate_id=series.id,
            occurred_at=self.clock.now(),
            unit_path=series.unit_path,
            actor_id=self.principal.id,
        )
        return series

    async def series_out(self, series: list[ClassSeries]) -> list[SeriesOut]:
        units = await self.repo.units({s.unit_id for s in series})
        totals = await self.repo.series_totals({s.id for s in series})
        now, today = self.clock.now(), self.today()
        out = []
        for s in series:
            n, people, minutes, last = totals.get(s.id, (0, 0, 0, None))
            unit = units.get(s.unit_id)
            out.append(
                SeriesOut(
                    id=s.id,
                    unit_id=s.unit_id,
                    unit_name=unit.name if unit else None,
                    title=s.title,
                    description=s.description,
                    platform=s.platform,
                    weekday=s.weekday,
                    start_time=s.start_time.strftime("%H:%M"),
                    default_duration_minutes=s.default_duration_minutes,
                    starts_on=s.starts_on,
                    ends_on=s.ends_on,
                    active=s.ends_on is None or s.ends_on >= today,
                    next_class_at=next_occurrence(
                        s.weekday, s.start_time, s.starts_on, s.ends_on, now
                    ),
                    totals=SeriesTotals(
                        classes_held=n, participants=people, minutes=minutes, last_class_at=last
                    ),
                    version=s.version,
                    created_at=s.created_at,
                    updated_at=s.updated_at,
                )
            )
        return out

    # --- micro-classes ------------------------------------------------------------------
    async def get_class(self, class_id: uuid.UUID, *, for_update: bool = False) -> MicroClass:
        mc = await self.repo.micro_class(self.principal, class_id, for_update=for_update)
        if mc is None:
            raise NotFound(CLASS_NOT_FOUND)
        return mc

    async def _check_held_at(
        self, series: ClassSeries, held_at: datetime, exclude: uuid.UUID | None
    ) -> None:
        day = held_at.astimezone(CENTER_TZ).date()
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
        series = await self.repo.series(self.principal, body.series_id, for_update=True)
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
        await emit(
            self.session,
            ClassHeld(
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
            aggregate_id=mc.id,
            occurred_at=self.clock.now(),
            unit_path=mc.unit_path,
            actor_id=self.principal.id,
        )
        return mc

    async def update_class(
        self, class_id: uuid.UUID, body: ClassUpdate, if_match: str | None
    ) -> MicroClass:
        mc = await self.get_class(class_id, for_update=True)
        check_if_match(if_match, mc.id, mc.version)
        changes = body.model_dump(exclude_unset=True)
        _null_fields(changes, ("held_at", "topic", "lecturer", "duration_minutes", "participants"))
        if "held_at" in changes:
            series = await self.repo.series(self.principal, mc.series_id)
            assert series is not None  # a class sits where its series sits
            await self._check_held_at(series, changes["held_at"], mc.id)
        for key, value in changes.items():
            setattr(mc, key, value)
        if not modified(mc):
            return mc
        mc.version += 1
        await self.session.flush()
        await emit(
            self.session,
            ClassUpdated(
                class_id=mc.id,
                series_id=mc.series_id,
                unit_id=mc.unit_id,
                changed=sorted(changes),
                participants=mc.participants,
            ),
            aggregate_id=mc.id,
            occurred_at=self.clock.now(),
            unit_path=mc.unit_path,
            actor_id=self.principal.id,
        )
        return mc

    async def classes_out(self, classes: list[MicroClass]) -> list[ClassOut]:
        series = await self.repo.series_titles({c.series_id for c in classes})
        out = []
        for c in classes:
            s = series.get(c.series_id)
            out.append(
                ClassOut(
                    id=c.id,
                    historical=c.historical,
                    series_id=c.series_id,
                    series_title=s.title if s else None,
                    unit_id=c.unit_id,
                    held_at=c.held_at,
                    topic=c.topic,
                    lecturer=c.lecturer,
                    duration_minutes=c.duration_minutes,
                    participants=c.participants,
                    on_schedule=bool(s and on_schedule(c.held_at, s.weekday, s.start_time)),
                    notes=c.notes,
                    version=c.version,
                    created_at=c.created_at,
                    updated_at=c.updated_at,
                )
            )
        return out

    # --- residents' opinions ------------------------------------------------------------
