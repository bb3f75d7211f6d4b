"""Enumerations of outreach, residents' opinions and the duty rota, with Chinese labels."""

from __future__ import annotations

from mediation.enums import LabelledEnum, labelled
from mediation.org.enums import Role


@labelled
class ActivityVenue(LabelledEnum):
    """Where a legal-awareness activity (法治宣传) goes: the "five into" campaign (五进)."""

    family = "family", "进家庭", "Into families"
    community = "community", "进社区", "Into communities"
    village = "village", "进村屯", "Into villages"
    school = "school", "进校园", "Into schools"
    enterprise = "enterprise", "进企业", "Into enterprises"


@labelled
class PartnerRole(LabelledEnum):
    """What a partner of an activity is."""

    police = "police", "社区民警", "Community police officer"
    legal_advisor = "legal_advisor", "法律顾问", "Legal advisor"
    other = "other", "其他", "Other partner"


@labelled
class ActivitySort(LabelledEnum):
    """Order of the activity list."""

    newest = "newest", "最新在前", "Most recent first"
    oldest = "oldest", "最早在前", "Oldest first"


@labelled
class Weekday(LabelledEnum):
    """Day of the week (ISO: Monday first)."""

    monday = "monday", "星期一", "Monday"
    tuesday = "tuesday", "星期二", "Tuesday"
    wednesday = "wednesday", "星期三", "Wednesday"
    thursday = "thursday", "星期四", "Thursday"
    friday = "friday", "星期五", "Friday"
    saturday = "saturday", "星期六", "Saturday"
    sunday = "sunday", "星期日", "Sunday"

    @property
    def iso(self) -> int:
        """1 for Monday ... 7 for Sunday, as `date.isoweekday()`."""
        return list(Weekday).index(self) + 1

    @classmethod
    def of(cls, iso: int) -> Weekday:
        return list(cls)[iso - 1]


@labelled
class OpinionStatus(LabelledEnum):
    """Where a resident's opinion stands: received, forwarded to whoever can act, answered,
    closed."""

    received = "received", "已收集", "Received"
    forwarded = "forwarded", "已转办", "Forwarded"
    answered = "answered", "已答复", "Answered"
    closed = "closed", "已办结", "Closed"


@labelled
class OpinionSort(LabelledEnum):
    """Order of the opinion list."""

    newest = "newest", "最新在前", "Most recently collected first"
    oldest = "oldest", "最早在前", "Oldest first"


# The three heads (一格三长) and the owners' committee: who collects opinions and takes turns in
# the self-governance office. Ordered by precedence: a person holding several is shown by the
# first.
COLLECTOR_ROLES: tuple[Role, ...] = (
    Role.grid_head,
    Role.building_head,
    Role.unit_head,
    Role.owners_committee,
)
