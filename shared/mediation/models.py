"""Imports every model so `Base.metadata` is complete (Alembic, tests)."""

from mediation.audit.models import AuditEvent  # noqa: F401
from mediation.auth.models import AccessLogEntry, ApiClient, RefreshToken, User
from mediation.casefiles.models import Attachment  # noqa: F401
from mediation.cases.models import CalendarDay, Case, CaseEvent, CaseParty  # noqa: F401
from mediation.cronruns import CronRun  # noqa: F401
from mediation.db import Base
from mediation.hotline.models import HotlineCall, HotlineCallEvent, HotlineDutyShift  # noqa: F401
from mediation.idempotency import IdempotencyKey  # noqa: F401
from mediation.imports.models import ImportFile  # noqa: F401
from mediation.notifications.models import (  # noqa: F401
    DeliveryAttempt,
    Notification,
    NotificationRule,
    NotificationTemplate,
    SweepMark,
    WebhookSubscription,
)
from mediation.org.models import Person, RoleAssignment, Unit
from mediation.outbox.models import Delivery, OutboxEvent
from mediation.outreach.models import DutySlot, MicroClass, ResidentOpinion  # noqa: F401
from mediation.reference.models import ReferenceItem
from mediation.sessions.models import MediationSession, SessionBooking  # noqa: F401
from mediation.stats.balances import OpeningBalance  # noqa: F401
from mediation.stats.models import Job, StatsBreakdown, StatsReport, StatsRow  # noqa: F401

__all__ = [
    "AccessLogEntry",
    "ApiClient",
    "Base",
    "Delivery",
    "Notification",
    "OutboxEvent",
    "Person",
    "ReferenceItem",
    "RefreshToken",
    "RoleAssignment",
    "Unit",
    "User",
]
