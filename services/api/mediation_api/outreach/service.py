"""Outreach use cases: activities, the micro-class series and classes, residents' opinions (and
turning one into a dispute case), the self-governance office's duty rota and its gaps. Runs in
the request's transaction (never commits); every change writes an outbox event."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.access_log import record_access
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.cases.contracts import CaseCreate
from mediation.cases.enums import CaseEventType
from mediation.cases.models import Case
from mediation.clock import CENTER_TZ, Clock
from mediation.contracts.changes import modified
from mediation.contracts.common import jsonable
from mediation.contracts.etag import check_if_match
from mediation.errors import Conflict, NotFound, Unprocessable
from mediation.logs import request_id_var
from mediation.org.enums import Role, UnitLevel
from mediation.org.models import Unit
from mediation.outbox.events import emit
from mediation.outreach.contracts import (
    ActivityCreate,
    ActivityOut,
    ActivityUpdate,
    ClassCreate,
    ClassOut,
    ClassUpdate,
    DutyGapReport,
    DutySlotCreate,
    DutySlotOut,
    DutySlotUpdate,
    GridDutyGaps,
    InvalidSlot,
    OpinionAnswer,
    OpinionClose,
    OpinionCreate,
    OpinionForward,
    OpinionOut,
    OpinionToCase,
    OpinionUpdate,
    OutreachSummary,
    PartnerIn,
    PartnerOut,
    SeriesCreate,
    SeriesOut,
    SeriesTotals,
    SeriesUpdate,
    StatusCount,
    VenueTotals,
)
from mediation.outreach.enums import (
    COLLECTOR_ROLES,
    ActivityVenue,
    OpinionStatus,
    PartnerRole,
    Weekday,
)
from mediation.outreach.models import (
    ClassSeries,
    DutySlot,
    MicroClass,
    OutreachActivity,
    ResidentOpinion,
)
from mediation.outreach.rules import (
    days_between,
    next_occurrence,
    on_schedule,
    opinion_transition,
    uncovered_days,
)
from mediation.outreach.stats import outreach_counts
from mediation.privacy import mask_name, mask_phone
from mediation.reference.data import ReferenceKind
from mediation.settings import Settings
from mediation_api.cases.service import CaseService
from mediation_api.outreach.repository import OutreachRepository
from mediation_api.reference.service import ReferenceService
from mediation_api.visibility import Ref, Visibility, Visible

# One answer for "no such record" and "not in your jurisdiction" (API.md: outside, a record
# does not exist).
ACTIVITY_NOT_FOUND = "No outreach activity with this id in your jurisdiction."
SERIES_NOT_FOUND = "No micro-class series with this id in your jurisdiction."
CLASS_NOT_FOUND = "No micro-class with this id in your jurisdiction."
OPINION_NOT_FOUND = "No resident opinion with this id in your jurisdiction."
SLOT_NOT_FOUND = "No duty slot with this id in your jurisdiction."
MAX_GAP_WINDOW = timedelta(days=92)
PARTNER_ROLES = {PartnerRole.police: Role.police, PartnerRole.legal_advisor: Role.legal_advisor}
OPINION_RECORD = "resident_opinion"


def on_line(a: str, b: str) -> bool:
    """One node is an ancestor of (or the same as) the other: the community's police officer
    serves an activity in one of its grids; a building head collects in their building."""
    return a.startswith(b) or b.startswith(a)


CASE_FORWARD = "矛盾纠纷案件"  # where a converted opinion went (the case number follows)


def _null_fields(changes: dict[str, Any], fields: tuple[str, ...]) -> None:
    nulls = [
        {"field": f"body.{k}", "message": "Cannot be null."}
        for k in fields
        if k in changes and changes[k] is None
    ]
    if nulls:
        raise Unprocessable("Some fields cannot be null; see errors.", errors=nulls)


class OutreachService:
    def __init__(
        self, session: AsyncSession, clock: Clock, settings: Settings, principal: Principal
    ) -> None:
        self.session = session
        self.clock = clock
        self.settings = settings
        self.principal = principal
        self.repo = OutreachRepository(session)

    def today(self) -> date:
        return self.clock.now().astimezone(CENTER_TZ).date()

    async def _emit(
        self, type_: str, aggregate: str, ident: uuid.UUID, unit_path: str, **payload: Any
    ) -> None:
        await emit(
            self.session,
            type=type_,
            aggregate_type=aggregate,
            aggregate_id=ident,
            occurred_at=self.clock.now(),
            payload=jsonable(payload),
            unit_path=unit_path,
            actor_id=self.principal.id,
            request_id=request_id_var.get(),
        )

    async def _place(self, unit_id: uuid.UUID, field: str) -> Unit:
        """A node of the caller's jurisdiction that takes new records."""
        unit = await self.repo.unit_in_scope(unit_id, self.principal)
        if unit is None or not unit.active:
            raise Unprocessable("No active unit with this id in your jurisdiction.", field=field)
        return unit

    async def _role_on_line(
        self, person_id: uuid.UUID, roles: tuple[Role, ...], path: str, day: date
    ) -> Role | None:
        """The first of `roles` the person holds on `day` at a node on `path`'s line."""
        held = {
            role
            for _, role, unit_path, _, _ in await self.repo.roles_held({person_id}, roles, day, day)
            if on_line(unit_path, path)
        }
        return next((r for r in roles if r in held), None)

    # --- legal-awareness activities -----------------------------------------------------
    async def get_activity(
        self, activity_id: uuid.UUID, *, for_update: bool = False
    ) -> OutreachActivity:
        activity = await self.repo.activity(self.principal, activity_id, for_update=for_update)
        if activity is None:
            raise NotFound(ACTIVITY_NOT_FOUND)
        return activity

    async def _partners(
        self, partners: list[PartnerIn], place: Unit, day: date
    ) -> list[dict[str, Any]]:
        errors = []
        for i, p in enumerate(partners):
            if p.person_id is None:
                continue
            role = PARTNER_ROLES[p.role]
            if await self._role_on_line(p.person_id, (role,), place.path, day) is None:
                errors.append(
                    {
                        "field": f"body.partners.{i}.person_id",
                        "message": f"This person is not a {role.label_en.lower()} "
                        f"({role.label_zh}) serving this place on {day.isoformat()}.",
                    }
                )
        if errors:
            raise Unprocessable("Some partners do not hold their role here.", errors=errors)
        return [
            {
                "role": p.role.value,
                "person_id": str(p.person_id) if p.person_id else None,
                # A registered person's name is read from the person, never copied.
                "name": None if p.person_id else p.name,
            }
            for p in partners
        ]

    async def create_activity(self, body: ActivityCreate) -> OutreachActivity:
        place = await self._place(body.unit_id, "body.unit_id")
        activity = OutreachActivity(
            unit_id=place.id,
            unit_path=place.path,
            venue=body.venue,
            title=body.title,
            held_on=body.held_on,
            address=body.address,
            organiser=body.organiser,
            partners=await self._partners(body.partners, place, body.held_on),
            participants=body.participants,
            notes=body.notes,
            created_by=self.principal.id,
            version=1,
        )
        self.repo.add(activity)
        await self.session.flush()
        await self._emit(
            "outreach.activity_recorded",
            "outreach_activity",
            activity.id,
            activity.unit_path,
            activity_id=activity.id,
            unit_id=activity.unit_id,
            venue=activity.venue.value,
            title=activity.title,
            held_on=activity.held_on,
            participants=activity.participants,
        )
        return activity

    async def update_activity(
        self, activity_id: uuid.UUID, body: ActivityUpdate, if_match: str | None
    ) -> OutreachActivity:
        activity = await self.get_activity(activity_id, for_update=True)
        check_if_match(if_match, activity.id, activity.version)
        changes = body.model_dump(exclude_unset=True)
        _null_fields(
            changes,
            ("unit_id", "venue", "title", "held_on", "organiser", "partners", "participants"),
        )
        place = (
            await self._place(body.unit_id, "body.unit_id")
            if body.unit_id is not None
            else await self._unit(activity.unit_id)
        )
        day = body.held_on or activity.held_on
        if body.partners is not None:
            activity.partners = await self._partners(body.partners, place, day)
        elif "unit_id" in changes or "held_on" in changes:
            # Partners named by person must still serve the (new) place on the (new) day.
            await self._partners(
                [PartnerIn.model_validate(p) for p in activity.partners], place, day
            )
        for key in ("venue", "title", "held_on", "address", "organiser", "participants", "notes"):
            if key in changes:
                setattr(activity, key, changes[key])
        activity.unit_id, activity.unit_path = place.id, place.path
        if not modified(activity):  # every value as it was: nothing changes, nobody is told
            return activity
        activity.version += 1
        await self.session.flush()
        await self._emit(
            "outreach.activity_updated",
            "outreach_activity",
            activity.id,
            activity.unit_path,
            activity_id=activity.id,
            unit_id=activity.unit_id,
            changed=sorted(changes),
            participants=activity.participants,
        )
        return activity

    async def _unit(self, unit_id: uuid.UUID) -> Unit:
        unit = (await self.repo.units({unit_id})).get(unit_id)
        assert unit is not None  # records point at existing units (foreign key)
        return unit

    async def activities_out(self, activities: list[OutreachActivity]) -> list[ActivityOut]:
        units = await self.repo.units({a.unit_id for a in activities})
        person_ids = {
            uuid.UUID(p["person_id"]) for a in activities for p in a.partners if p.get("person_id")
        }
        names = await self.repo.person_names(person_ids)
        out = []
        for a in activities:
            partners = [
                PartnerOut(
                    role=PartnerRole(p["role"]),
                    person_id=uuid.UUID(p["person_id"]) if p.get("person_id") else None,
                    name=names.get(uuid.UUID(p["person_id"])) if p.get("person_id") else p["name"],
                )
                for p in a.partners
            ]
            unit = units.get(a.unit_id)
            out.append(
                ActivityOut(
                    id=a.id,
                    unit_id=a.unit_id,
                    unit_name=unit.name if unit else None,
                    venue=a.venue,
                    title=a.title,
                    held_on=a.held_on,
                    address=a.address,
                    organiser=a.organiser,
                    partners=partners,
                    participants=a.participants,
                    notes=a.notes,
                    version=a.version,
                    created_at=a.created_at,
                    updated_at=a.updated_at,
                )
            )
        return out

    # --- micro-class series -------------------------------------------------------------
    async def get_series(self, series_id: uuid.UUID, *, for_update: bool = False) -> ClassSeries:
        series = await self.repo.series(self.principal, series_id, for_update=for_update)
        if series is None:
            raise NotFound(SERIES_NOT_FOUND)
        return series

    async def create_series(self, body: SeriesCreate) -> ClassSeries:
        place = await self._place(body.unit_id, "body.unit_id")
        starts_on = body.starts_on or self.today()
        if body.ends_on is not None and body.ends_on < starts_on:
            raise Unprocessable("ends_on is before the series starts.", field="body.ends_on")
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
        await self._emit(
            "outreach.series_created",
            "outreach_class_series",
            series.id,
            series.unit_path,
            series_id=series.id,
            unit_id=series.unit_id,
            title=series.title,
            weekday=series.weekday.value,
            start_time=series.start_time.strftime("%H:%M"),
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
            raise Unprocessable("ends_on is before the series starts.", field="body.ends_on")
        if ends_on is not None:
            totals = (await self.repo.series_totals({series.id})).get(series.id)
            last = totals[3] if totals else None
            if last is not None and last.astimezone(CENTER_TZ).date() > ends_on:
                raise Unprocessable(
                    "A class was held after that day; the series cannot end before it.",
                    field="body.ends_on",
                )
        for key, value in changes.items():
            setattr(series, key, value)
        if not modified(series):
            return series
        series.version += 1
        await self.session.flush()
        await self._emit(
            "outreach.series_updated",
            "outreach_class_series",
            series.id,
            series.unit_path,
            series_id=series.id,
            unit_id=series.unit_id,
            changed=sorted(changes),
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
                "The series was not running on that day (Beijing time).", field="body.held_at"
            )
        existing = await self.repo.class_at(series.id, held_at)
        if existing is not None and existing != exclude:
            # Recording the same class twice would inflate the running totals.
            raise Conflict("A class of this series is already recorded at that time.")

    async def create_class(self, body: ClassCreate) -> MicroClass:
        series = await self.repo.series(self.principal, body.series_id, for_update=True)
        if series is None:
            raise Unprocessable(SERIES_NOT_FOUND, field="body.series_id")
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
        await self._emit(
            "outreach.class_held",
            "outreach_class",
            mc.id,
            mc.unit_path,
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
        await self._emit(
            "outreach.class_updated",
            "outreach_class",
            mc.id,
            mc.unit_path,
            class_id=mc.id,
            series_id=mc.series_id,
            unit_id=mc.unit_id,
            changed=sorted(changes),
            participants=mc.participants,
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
    async def get_opinion(
        self, opinion_id: uuid.UUID, *, for_update: bool = False
    ) -> ResidentOpinion:
        opinion = await self.repo.opinion(self.principal, opinion_id, for_update=for_update)
        if opinion is None:
            raise NotFound(OPINION_NOT_FOUND)
        return opinion

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
            raise Unprocessable("Name who collected it.", field="body.collector_id")
        role = await self._role_on_line(collector_id, COLLECTOR_ROLES, place.path, day)
        if role is None:
            raise Unprocessable(
                "Opinions are collected by the grid, building and unit heads and the owners' "
                f"committee; this person holds none of those roles here on {day.isoformat()}.",
                field="body.collector_id",
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
        await self.session.flush()
        # No resident data in events: they travel to webhooks and inboxes.
        await self._opinion_event("opinion.received", opinion, collector_id=collector_id)
        return opinion

    async def _opinion_event(self, type_: str, opinion: ResidentOpinion, **extra: Any) -> None:
        await self._emit(
            type_,
            "resident_opinion",
            opinion.id,
            opinion.unit_path,
            opinion_id=opinion.id,
            unit_id=opinion.unit_id,
            category=opinion.category,
            status=opinion.status.value,
            **extra,
        )

    async def update_opinion(
        self, opinion_id: uuid.UUID, body: OpinionUpdate, if_match: str | None
    ) -> ResidentOpinion:
        opinion = await self.get_opinion(opinion_id, for_update=True)
        check_if_match(if_match, opinion.id, opinion.version)
        if opinion.status is not OpinionStatus.received:
            raise Conflict("Only an opinion not yet forwarded or answered can be corrected.")
        changes = body.model_dump(exclude_unset=True)
        _null_fields(changes, ("category", "text"))
        if "category" in changes:
            await self._category(changes["category"], "body.category")
        for key, value in changes.items():
            setattr(opinion, key, value)
        names = sorted(modified(opinion))
        if not names:
            return opinion
        opinion.version += 1
        await self.session.flush()
        await self._opinion_event("opinion.updated", opinion, changed=names)
        return opinion

    async def _act(
        self, opinion_id: uuid.UUID, action: str, if_match: str | None
    ) -> ResidentOpinion:
        opinion = await self.get_opinion(opinion_id, for_update=True)
        check_if_match(if_match, opinion.id, opinion.version)
        opinion.status = opinion_transition(opinion.status, action)
        opinion.version += 1
        return opinion

    async def forward(
        self, opinion_id: uuid.UUID, body: OpinionForward, if_match: str | None
    ) -> ResidentOpinion:
        opinion = await self._act(opinion_id, "forward", if_match)
        opinion.forwarded_to, opinion.forwarded_at = body.forwarded_to, self.clock.now()
        await self.session.flush()
        await self._opinion_event("opinion.forwarded", opinion, forwarded_to=body.forwarded_to)
        return opinion

    async def answer(
        self, opinion_id: uuid.UUID, body: OpinionAnswer, if_match: str | None
    ) -> ResidentOpinion:
        opinion = await self._act(opinion_id, "answer", if_match)
        opinion.answer, opinion.answered_at = body.answer, self.clock.now()
        await self.session.flush()
        await self._opinion_event("opinion.answered", opinion)
        return opinion

    async def close(
        self, opinion_id: uuid.UUID, body: OpinionClose, if_match: str | None
    ) -> ResidentOpinion:
        opinion = await self._act(opinion_id, "close", if_match)
        opinion.closed_at, opinion.close_note = self.clock.now(), body.note
        await self.session.flush()
        await self._opinion_event("opinion.closed", opinion)
        return opinion

    async def convert_to_case(
        self, opinion_id: uuid.UUID, body: OpinionToCase, if_match: str | None
    ) -> tuple[ResidentOpinion, Case]:
        """Registers a dispute case (source grid report) through the cases service and links
        both ways: the opinion keeps `case_id` and is forwarded to the case; the case's
        timeline names the opinion."""
        opinion = await self.get_opinion(opinion_id, for_update=True)
        check_if_match(if_match, opinion.id, opinion.version)
        if opinion.case_id is not None:
            seen = await self._cases_seen({opinion.case_id})
            raise Conflict(
                "This opinion was already turned into a case.",
                case_id=str(opinion.case_id) if seen.can_see(Ref.case, opinion.case_id) else None,
            )
        status = opinion_transition(opinion.status, "convert_to_case")
        first_line = opinion.text.strip().splitlines()[0] if opinion.text.strip() else "居民意见"
        values = body.model_dump(exclude_none=True)
        values.update(
            title=body.title or first_line[:60],
            facts=body.facts or opinion.text,
            unit_id=body.unit_id or opinion.unit_id,
        )
        cases = CaseService(self.session, self.clock, self.settings, self.principal)
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
                OpinionOut(
                    id=o.id,
                    unit_id=o.unit_id,
                    unit_name=unit.name if unit else None,
                    collector_id=o.collector_id,
                    collector_name=names.get(o.collector_id),
                    collector_role=o.collector_role,
                    collected_on=o.collected_on,
                    category=o.category,
                    category_label=labels.get(o.category),
                    text=o.text,
                    address=o.address,
                    resident_name=o.resident_name if unmask else mask_name(o.resident_name),
                    resident_phone=o.resident_phone if unmask else mask_phone(o.resident_phone),
                    status=o.status,
                    # The case number is part of where it went: named only to readers of
                    # the case.
                    forwarded_to=o.forwarded_to
                    if o.case_id is None or seen.can_see(Ref.case, o.case_id)
                    else CASE_FORWARD,
                    forwarded_at=o.forwarded_at,
                    answer=o.answer,
                    answered_at=o.answered_at,
                    closed_at=o.closed_at,
                    close_note=o.close_note,
                    case_id=o.case_id if seen.can_see(Ref.case, o.case_id) else None,
                    version=o.version,
                    created_at=o.created_at,
                    updated_at=o.updated_at,
                )
            )
        return out

    # --- duty rota ----------------------------------------------------------------------
    async def get_slot(self, slot_id: uuid.UUID, *, for_update: bool = False) -> DutySlot:
        slot = await self.repo.slot(self.principal, slot_id, for_update=for_update)
        if slot is None:
            raise NotFound(SLOT_NOT_FOUND)
        return slot

    async def _grid(self, unit_id: uuid.UUID) -> Unit:
        grid = await self._place(unit_id, "body.unit_id")
        if grid.level is not UnitLevel.grid:
            raise Unprocessable(
                "The self-governance office's rota is kept per grid; give a grid.",
                field="body.unit_id",
            )
        return grid

    async def _duty_role(self, person_id: uuid.UUID, grid: Unit, day: date) -> Role:
        """The person's head or committee role in the grid (the grid or a building or unit of
        it) on `day`; 422 otherwise."""
        held = {
            role
            for _, role, path, _, _ in await self.repo.roles_held(
                {person_id}, COLLECTOR_ROLES, day, day
            )
            if path.startswith(grid.path)
        }
        role = next((r for r in COLLECTOR_ROLES if r in held), None)
        if role is None:
            raise Unprocessable(
                "Only the grid's three heads (grid, building, unit head) and owners' committee "
                f"members take turns on duty; this person holds none of those roles in this grid "
                f"on {day.isoformat()}.",
                field="body.person_id",
            )
        return role

    async def create_slot(self, body: DutySlotCreate) -> DutySlot:
        grid = await self._grid(body.unit_id)
        role = await self._duty_role(body.person_id, grid, body.duty_date)
        if await self.repo.slot_taken(grid.id, body.duty_date, body.person_id, None):
            raise Conflict("This person is already on duty in this grid that day.")
        slot = DutySlot(
            unit_id=grid.id,
            unit_path=grid.path,
            duty_date=body.duty_date,
            person_id=body.person_id,
            role=role,
            note=body.note,
            created_by=self.principal.id,
            version=1,
        )
        self.repo.add(slot)
        await self.session.flush()
        await self._slot_event("duty_rota.slot_added", slot)
        return slot

    async def _slot_event(self, type_: str, slot: DutySlot, **extra: Any) -> None:
        await self._emit(
            type_,
            "duty_slot",
            slot.id,
            slot.unit_path,
            slot_id=slot.id,
            unit_id=slot.unit_id,
            duty_date=slot.duty_date,
            person_id=slot.person_id,
            role=slot.role.value,
            **extra,
        )

    async def update_slot(
        self, slot_id: uuid.UUID, body: DutySlotUpdate, if_match: str | None
    ) -> DutySlot:
        slot = await self.get_slot(slot_id, for_update=True)
        check_if_match(if_match, slot.id, slot.version)
        changes = body.model_dump(exclude_unset=True)
        _null_fields(changes, ("duty_date", "person_id"))
        day = changes.get("duty_date", slot.duty_date)
        person_id = changes.get("person_id", slot.person_id)
        if "duty_date" in changes or "person_id" in changes:
            grid = await self._unit(slot.unit_id)
            slot.role = await self._duty_role(person_id, grid, day)
            if await self.repo.slot_taken(slot.unit_id, day, person_id, slot.id):
                raise Conflict("This person is already on duty in this grid that day.")
        for key, value in changes.items():
            setattr(slot, key, value)
        names = sorted(modified(slot))
        if not names:
            return slot
        slot.version += 1
        await self.session.flush()
        await self._slot_event("duty_rota.slot_changed", slot, changed=names)
        return slot

    async def delete_slot(self, slot_id: uuid.UUID, if_match: str | None) -> None:
        slot = await self.get_slot(slot_id, for_update=True)
        check_if_match(if_match, slot.id, slot.version)
        await self._slot_event("duty_rota.slot_removed", slot)
        await self.session.delete(slot)
        await self.session.flush()

    async def slots_out(self, slots: list[DutySlot]) -> list[DutySlotOut]:
        units = await self.repo.units({s.unit_id for s in slots})
        names = await self.repo.person_names({s.person_id for s in slots})
        return [
            DutySlotOut(
                id=s.id,
                unit_id=s.unit_id,
                unit_name=units[s.unit_id].name if s.unit_id in units else None,
                duty_date=s.duty_date,
                weekday=Weekday.of(s.duty_date.isoweekday()),
                person_id=s.person_id,
                person_name=names.get(s.person_id),
                role=s.role,
                note=s.note,
                version=s.version,
                created_at=s.created_at,
                updated_at=s.updated_at,
            )
            for s in slots
        ]

    async def subtree(self, unit_id: uuid.UUID | None) -> Unit | None:
        """The unit of a `unit_id` filter; 422 when it is not in the caller's jurisdiction."""
        if unit_id is None:
            return None
        unit = await self.repo.unit_in_scope(unit_id, self.principal)
        if unit is None:
            raise Unprocessable("No unit with this id in your jurisdiction.", field="query.unit_id")
        return unit

    async def gap_report(
        self,
        unit_id: uuid.UUID | None,
        date_from: date | None,
        date_to: date | None,
        weekdays: list[Weekday] | None,
    ) -> DutyGapReport:
        root = await self.subtree(unit_id)
        first = date_from or self.today()
        last = date_to or first + timedelta(days=6)
        if last < first:
            raise Unprocessable("date_to is before date_from.", field="query.date_to")
        if last - first >= MAX_GAP_WINDOW:
            raise Unprocessable(
                f"Check at most {MAX_GAP_WINDOW.days} days at a time.", field="query.date_to"
            )
        days_of_week = sorted(set(weekdays or list(Weekday)), key=lambda w: w.iso)
        days = days_between(first, last, days_of_week)
        grids = await self.repo.active_grids(self.principal, root.path if root else None)
        slots = await self.repo.slots_of_grids([g.id for g in grids], first, last)
        holdings = await self.repo.roles_held(
            {s.person_id for s in slots}, COLLECTOR_ROLES, first, last
        )
        names = await self.repo.person_names({s.person_id for s in slots})
        paths = {g.id: g.path for g in grids}

        def counts(slot: DutySlot) -> bool:
            # A slot counts while its person still holds a head or committee role in the grid
            # on that day (a head who stepped down leaves a gap).
            return any(
                pid == slot.person_id
                and path.startswith(paths[slot.unit_id])
                and starts <= slot.duty_date
                and (ends is None or ends >= slot.duty_date)
                for pid, _, path, starts, ends in holdings
            )

        covered: dict[uuid.UUID, set[date]] = {g.id: set() for g in grids}
        invalid: dict[uuid.UUID, list[InvalidSlot]] = {g.id: [] for g in grids}
        for slot in slots:
            if counts(slot):
                covered[slot.unit_id].add(slot.duty_date)
            else:
                invalid[slot.unit_id].append(
                    InvalidSlot(
                        slot_id=slot.id,
                        duty_date=slot.duty_date,
                        person_id=slot.person_id,
                        person_name=names.get(slot.person_id),
                    )
                )
        gaps = []
        for g in grids:
            missing = uncovered_days(days, covered[g.id])
            if missing or invalid[g.id]:
                gaps.append(
                    GridDutyGaps(
                        unit_id=g.id,
                        unit_code=g.code,
                        unit_name=g.name,
                        days=missing,
                        invalid_slots=invalid[g.id],
                    )
                )
        return DutyGapReport(
            date_from=first,
            date_to=last,
            weekdays=days_of_week,
            grids_checked=len(grids),
            gaps=gaps,
        )

    # --- summary ------------------------------------------------------------------------
    async def summary(
        self, unit_id: uuid.UUID | None, date_from: date | None, date_to: date | None
    ) -> OutreachSummary:
        root = await self.subtree(unit_id)
        last = date_to or self.today()
        first = date_from or last.replace(day=1)
        if last < first:
            raise Unprocessable("date_to is before date_from.", field="query.date_to")
        prefixes = [root.path] if root else list(self.principal.scope_paths)
        counts = await outreach_counts(self.session, prefixes, first, last)
        return OutreachSummary(
            unit_id=root.id if root else None,
            date_from=first,
            date_to=last,
            activities=counts.activities,
            activity_participants=counts.activity_participants,
            activities_by_venue=[
                VenueTotals(venue=v, activities=n, participants=p)
                for v in ActivityVenue
                if v in counts.by_venue
                for n, p in [counts.by_venue[v]]
            ],
            classes=counts.classes,
            class_participants=counts.class_participants,
            opinions=counts.opinions,
            opinions_by_status=[
                StatusCount(status=s, count=counts.opinions_by_status[s])
                for s in OpinionStatus
                if s in counts.opinions_by_status
            ],
        )
