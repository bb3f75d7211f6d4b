"""Legal-awareness activities (法治宣传) and the outreach summary the monthly statistics count."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from mediation.contracts.changes import patch_fields
from mediation.errors import Unprocessable
from mediation.org.models import Unit
from mediation.outreach import rules
from mediation.outreach.enums import (
    ActivityVenue,
    OpinionStatus,
    PartnerRole,
)
from mediation.outreach.events import ActivityRecorded, ActivityUpdated
from mediation.outreach.models import (
    OutreachActivity,
)
from mediation.outreach.stats import outreach_counts
from mediation_api.outreach.base import (
    ACTIVITY_NOT_FOUND,
    PARTNER_ROLES,
    OutreachBase,
)
from mediation_api.outreach.contracts import (
    ActivityCreate,
    ActivityOut,
    ActivityUpdate,
    OutreachSummary,
    PartnerIn,
    PartnerOut,
    StatusCount,
    VenueTotals,
)
from mediation_api.query import WINDOW_INVALID
from mediation_api.request_service import for_change
from mediation_api.shown import shown


class ActivityService(OutreachBase):
    async def get_activity(
        self, activity_id: uuid.UUID, *, for_update: bool = False
    ) -> OutreachActivity:
        return await self._get(OutreachActivity, activity_id, ACTIVITY_NOT_FOUND, for_update)

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
            raise Unprocessable(
                "Some partners do not hold their role here.",
                errors=errors,
                code=rules.PARTNER_WITHOUT_ROLE,
            )
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
        return await self._add(
            activity,
            lambda: ActivityRecorded(
                activity_id=activity.id,
                unit_id=activity.unit_id,
                venue=activity.venue,
                title=activity.title,
                held_on=activity.held_on,
                participants=activity.participants,
            ),
        )

    async def update_activity(
        self, activity_id: uuid.UUID, body: ActivityUpdate, if_match: str | None
    ) -> OutreachActivity:
        activity = await for_change(self.get_activity, activity_id, if_match)
        changes = patch_fields(
            body, "unit_id", "venue", "title", "held_on", "organiser", "partners", "participants"
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
        return await self._save(
            activity,
            lambda names: ActivityUpdated(
                activity_id=activity.id,
                unit_id=activity.unit_id,
                # What really changed, not what was sent; the path moves with unit_id.
                changed=[n for n in names if n != "unit_path"],
                participants=activity.participants,
            ),
        )

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
                shown(ActivityOut, a, unit_name=unit.name if unit else None, partners=partners)
            )
        return out

    # --- micro-class series -------------------------------------------------------------
    async def summary(
        self, unit_id: uuid.UUID | None, date_from: date | None, date_to: date | None
    ) -> OutreachSummary:
        root = await self.subtree(unit_id)
        last = date_to or self.today()
        first = date_from or last.replace(day=1)
        if last < first:
            raise Unprocessable(
                "date_to is before date_from.", field="query.date_to", code=WINDOW_INVALID
            )
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
