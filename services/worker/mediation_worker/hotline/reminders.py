"""A hotline call's reminders, through the notification sweeps' extension point: its
follow-up comes due (to the counselor) and is overdue a day later (to the workstation's
supervisors); a high-risk call nobody acknowledged within a quarter of an hour goes to every
hotline supervisor above. De-identified calls remind nobody."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Row, and_

from mediation.hotline.events import HotlineReminder
from mediation_worker.notifications.sweeps import ZERO, DueSweep, Stage, register

HOTLINE_FOLLOW_UP_LEAD = timedelta(hours=2)
HOTLINE_FOLLOW_UP_GRACE = timedelta(days=1)
HOTLINE_ACK_AFTER = timedelta(minutes=15)


def reminder_payload(row: Row[Any], stage: Stage) -> HotlineReminder:
    return HotlineReminder(
        call_id=row.id,
        unit_id=row.unit_id,
        risk_level=row.risk_level,
        imminent=bool(row.imminent_risk),
        urgent=stage.name == "unacknowledged",
        flagged_at=row.flagged_at,
        follow_up_due=row.follow_up_due,
        counselor_person_id=row.counselor_id,
        recipient_person_ids=[row.counselor_id] if stage.name == "due" else [],
        stage=stage.name,
    )


_HOTLINE_COLUMNS = (
    "unit_id",
    "counselor_id",
    "risk_level",
    "imminent_risk",
    "flagged_at",
    "acknowledged_at",
    "follow_up_due",
    "follow_up_done_at",
    "deidentified_at",
)

register(
    DueSweep(
        name="hotline.follow_up",
        table="hotline_calls",
        due_column="follow_up_due",
        required=_HOTLINE_COLUMNS,
        where=lambda t: and_(t.c.follow_up_done_at.is_(None), t.c.deidentified_at.is_(None)),
        stages=(
            Stage("due", "hotline.follow_up_due", -HOTLINE_FOLLOW_UP_LEAD, until=ZERO),
            Stage("overdue", "hotline.follow_up_overdue", HOTLINE_FOLLOW_UP_GRACE),
        ),
        payload=reminder_payload,
    )
)

register(
    DueSweep(
        name="hotline.high_risk_ack",
        table="hotline_calls",
        due_column="flagged_at",
        required=_HOTLINE_COLUMNS,
        where=lambda t: t.c.acknowledged_at.is_(None),
        stages=(Stage("unacknowledged", "hotline.high_risk_unacknowledged", HOTLINE_ACK_AFTER),),
        payload=reminder_payload,
    )
)
