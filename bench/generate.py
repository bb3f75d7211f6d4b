"""Loads a realistic district into a fresh PostgreSQL database, fast.

    python -m bench.generate --scale full --database mediation_bench [--seed 11] [--end DATE]

The schema comes from the Alembic migrations (`mediation.migrate.upgrade`) on a new database.
Rows are made in Python from one seed and streamed with COPY (asyncpg
`copy_records_to_table`) by several processes; the secondary indexes of the big tables are
dropped first and rebuilt after the load, foreign-key triggers are off while loading
(`session_replication_role = replica`: the generator only writes ids it made), and the tables
are vacuumed and analysed at the end. The same seed and end date give the same data.

What is made (full scale): a district of 100,000 jurisdiction nodes (city → district →
streets → communities → grids → buildings → units) with its staff and their accounts;
1,000,000 cases over two years with parties, handlers, deadlines, agreements, follow-up
visits, repeat links and a typed timeline; 500,000 hotline calls with their timelines;
mediation sessions only when the schema has them. Distributions are skewed as in district
statistics: a few grids report most disputes, neighbour and family disputes dominate with
seasonal peaks (family at Spring Festival, wage arrears before it, noise in summer), grid
reports are the main source, weekdays and office hours carry most intake, the hotline rings
in the evening, older cases are mostly closed and recent ones still running.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import hmac
import json
import multiprocessing as mp
import random
import sys
import time
import uuid
from collections import defaultdict, deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg.pgproto.pgproto import UUID as PgUUID

from bench import textpool as tp
from bench.config import (
    CASE_STAMPS,
    OUT_DIR,
    PASSWORD,
    PG_SERVER,
    SCALES,
    Scale,
    async_url,
    database_url,
)
from bench.textpool import Weighted as W
from mediation.auth.passwords import hash_password
from mediation.cases.calendar import DayInfo, WorkingCalendar
from mediation.cases.deadlines import due_time
from mediation.cases.enums import DeadlineUnit
from mediation.clock import CENTER_TZ
from mediation.hotline.crypto import FieldCipher
from mediation.migrate import upgrade
from mediation.settings import Settings

DAY = 86_400
HOUR = 3_600
CST = 8 * HOUR  # Asia/Shanghai has no daylight saving: local day = (t + 8 h) // 1 day
YEARS = 2
SLICE_CASES = 25_000  # cases per job (one process, one connection)
SLICE_CALLS = 50_000
BATCH = 5_000  # cases (or calls) per COPY round

# Mediation sessions: loaded when the schema has them (after the cases, from the cases).
SESSION_TABLES = ["mediation_sessions", "session_mediators", "session_bookings", "session_events"]
# Tables whose secondary indexes are dropped during the load and rebuilt after it.
BULK_TABLES = [
    "cases",
    "case_parties",
    "case_events",
    "case_deadlines",
    "case_handlers",
    "case_agreements",
    "case_follow_ups",
    "case_links",
    "hotline_calls",
    "hotline_call_events",
    *SESSION_TABLES,
]


def log(msg: str) -> None:
    print(f"[generate {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- ids and times ------------------------------------------------------------------------
def uuid7_at(ms: int, rnd: int) -> uuid.UUID:
    """A version-7 UUID for the instant `ms` (so keyset order follows creation order).
    asyncpg's own UUID type (a uuid.UUID) is several times cheaper to make."""
    value = (
        ((ms & ((1 << 48) - 1)) << 80)
        | (0x7 << 76)
        | (((rnd >> 62) & 0xFFF) << 64)
        | (0b10 << 62)
        | (rnd & ((1 << 62) - 1))
    )
    return PgUUID(value.to_bytes(16, "big"))


def new_id(rng: random.Random, t: float) -> uuid.UUID:
    return uuid7_at(int(t * 1000), rng.getrandbits(74))


def ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def local_day(t: float) -> int:
    return int((t + CST) // DAY)


def day_date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)


# --- the tree -----------------------------------------------------------------------------
@dataclass
class Tree:
    ids: list[uuid.UUID] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    # The ancestor at each level (or -1), for every node.
    street_of: list[int] = field(default_factory=list)
    community_of: list[int] = field(default_factory=list)
    grid_of: list[int] = field(default_factory=list)
    building_of: list[int] = field(default_factory=list)
    by_level: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    children: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))

    def add(
        self, rng: random.Random, t: float, parent: int, level: str, code: str, name: str
    ) -> int:
        i = len(self.ids)
        seq = i + 1
        self.ids.append(new_id(rng, t))
        self.seqs.append(seq)
        self.parent.append(parent)
        self.level.append(level)
        self.code.append(code)
        self.name.append(name)
        self.path.append((self.path[parent] if parent >= 0 else "") + f"{seq}.")
        for attr, lv in (
            ("street_of", "street"),
            ("community_of", "community"),
            ("grid_of", "grid"),
            ("building_of", "building"),
        ):
            column = getattr(self, attr)
            column.append(i if level == lv else column[parent] if parent >= 0 else -1)
        self.by_level[level].append(i)
        if parent >= 0:
            self.children[parent].append(i)
        return i


def build_tree(rng: random.Random, target: int, t: float) -> Tree:
    """City → district → streets → communities → grids → buildings → units, about `target`
    nodes; fan-outs shrink with the target so small scales keep every level."""
    tree = Tree()
    f = (target / 100_000) ** 0.25

    def span(lo: float, hi: float) -> int:
        return rng.randint(max(1, round(lo * f)), max(1, round(hi * f)))

    city = tree.add(rng, t, -1, "city", "220300", "四平市")
    district = tree.add(rng, t, city, "district", "220302", "铁西区")
    n_streets = max(2, round(14 * f))
    for s in range(n_streets):
        base = tp.STREETS[s % len(tp.STREETS)]
        sname = base if s < len(tp.STREETS) else f"{base[:-2]}{s // len(tp.STREETS) + 1}{base[-2:]}"
        scode = f"220302{s + 1:03d}"
        street = tree.add(rng, t, district, "street", scode, sname)
        village = sname.endswith(("乡", "镇"))
        for c in range(span(10, 18)):
            word = tp.COMMUNITY_WORDS[(s * 7 + c) % len(tp.COMMUNITY_WORDS)]
            cname = word + ("村" if village else "社区")
            ccode = f"{scode}{c + 1:03d}"
            community = tree.add(rng, t, street, "community", ccode, cname)
            for g in range(span(8, 16)):
                gcode = f"{ccode}G{g + 1:02d}"
                grid = tree.add(rng, t, community, "grid", gcode, tp.grid_name(cname, g + 1))
                for b in range(span(6, 14)):
                    tree.add(rng, t, grid, "building", f"{gcode}B{b + 1:02d}", f"{b + 1}号楼")
    buildings = tree.by_level["building"]
    remaining = target - len(tree.ids)
    if remaining > 0 and buildings:
        weights = [rng.uniform(0.4, 1.6) for _ in buildings]
        total = sum(weights)
        shares = [int(remaining * w / total) for w in weights]
        for k in range(remaining - sum(shares)):
            shares[k % len(shares)] += 1
        for b, n in zip(buildings, shares, strict=True):
            for u in range(n):
                tree.add(rng, t, b, "unit", f"{tree.code[b]}U{u + 1:02d}", f"{u + 1}单元")
    return tree


# --- staff --------------------------------------------------------------------------------
@dataclass
class Staff:
    people: list[tuple[Any, ...]] = field(default_factory=list)
    roles: list[tuple[Any, ...]] = field(default_factory=list)
    users: list[tuple[Any, ...]] = field(default_factory=list)
    user_of: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # person → user
    name_of: dict[uuid.UUID, str] = field(default_factory=dict)  # person → name
    role_of: dict[uuid.UUID, str] = field(default_factory=dict)  # person → role
    at: dict[tuple[str, int], list[uuid.UUID]] = field(default_factory=lambda: defaultdict(list))
    accounts: list[dict[str, Any]] = field(default_factory=list)  # bench sign-in accounts

    def add(
        self,
        rng: random.Random,
        t: float,
        tree: Tree,
        role: str,
        unit: int,
        username: str | None = None,
        quals: list[str] | None = None,
    ) -> uuid.UUID:
        person = new_id(rng, t)
        name = tp.person_name(rng)
        now = ts(t)
        self.people.append(
            (person, name, tp.phone(rng), None, None, quals or [], None, 1, now, now)
        )
        start = day_date(local_day(t))
        self.roles.append((new_id(rng, t), person, tree.ids[unit], role, start, None, now, now))
        user = new_id(rng, t)
        self.users.append(
            (
                user,
                username or f"{role}_{tree.code[unit]}_{len(self.users)}",
                None,
                person,
                True,
                0,
                None,
                None,
                1,
                now,
                now,
            )
        )
        self.user_of[person] = user
        self.name_of[person] = name
        self.role_of[person] = role
        self.at[(role, unit)].append(person)
        return person


def grid_weights(rng: random.Random, tree: Tree) -> list[float]:
    """How many disputes each grid reports, relative: Zipf over a shuffled rank, times a
    per-street factor (old town streets are busier)."""
    grids = tree.by_level["grid"]
    ranks = list(range(1, len(grids) + 1))
    rng.shuffle(ranks)
    street_factor = {s: rng.uniform(0.6, 1.6) for s in tree.by_level["street"]}
    return [street_factor[tree.street_of[g]] / r**0.55 for g, r in zip(grids, ranks, strict=True)]


def build_staff(
    rng: random.Random, tree: Tree, t: float, weights: list[float]
) -> tuple[Staff, dict[str, Any]]:
    staff = Staff()
    district = tree.by_level["district"][0]
    city = tree.by_level["city"][0]
    staff.add(rng, t, tree, "admin", city)
    for _ in range(8):
        staff.add(rng, t, tree, "dispatcher", district)
    for _ in range(2):
        staff.add(rng, t, tree, "supervisor", district)
    for _ in range(4):
        staff.add(rng, t, tree, "judicial_mediator", district, quals=["司法调解员"])
    for s in tree.by_level["street"]:
        for _ in range(3):
            staff.add(rng, t, tree, "mediator", s, quals=["人民调解员证"])
    for c in tree.by_level["community"]:
        # Every community has its people's mediation committee (人民调解委员会).
        for _ in range(2):
            staff.add(rng, t, tree, "mediator", c, quals=["人民调解员证"])
        if rng.random() < 0.97:  # a few communities lack one: the staffing report shows them
            staff.add(rng, t, tree, "police", c)
        if rng.random() < 0.95:
            staff.add(rng, t, tree, "legal_advisor", c, quals=["律师执业证"])
    for g in tree.by_level["grid"]:
        staff.add(rng, t, tree, "grid_head", g)
    for b in tree.by_level["building"]:
        if rng.random() < 0.6:
            staff.add(rng, t, tree, "building_head", b)
    # One counseling workstation (心理工作站) per street, in its first community.
    workstations = []
    for s in tree.by_level["street"]:
        ws = tree.children[s][0]
        workstations.append(ws)
        for _ in range(3):
            staff.add(rng, t, tree, "counselor", ws, quals=["国家二级心理咨询师"])
        staff.add(rng, t, tree, "hotline_supervisor", ws, quals=["国家二级心理咨询师"])

    # Accounts the load runs sign in with, at three levels of the tree: the district, the
    # busiest street and the busiest grids (where a street- or grid-level user has most to see).
    grids = tree.by_level["grid"]
    per_street: dict[int, float] = defaultdict(float)
    for g, w in zip(grids, weights, strict=True):
        per_street[tree.street_of[g]] += w
    busiest_street = max(per_street, key=per_street.__getitem__)
    busiest_grids = [g for _, g in sorted(zip(weights, grids, strict=True), reverse=True)]
    from bench.config import ACCOUNTS_PER_LEVEL as n

    plan = [
        ("dispatcher", "district", [district] * n),
        ("mediator", "street", [busiest_street] * n),
        ("grid_head", "grid", busiest_grids[:n]),
        ("counselor", "community", [workstations[0]] * n),
    ]
    for role, level, units in plan:
        for k, unit in enumerate(units, 1):
            username = f"bench_{role}_{k}"
            staff.add(rng, t, tree, role, unit, username=username)
            staff.accounts.append(
                {
                    "username": username,
                    "role": role,
                    "level": level,
                    "unit_id": str(tree.ids[unit]),
                    "unit_path": tree.path[unit],
                    "unit_name": tree.name[unit],
                }
            )
    info = {"workstations": workstations, "busiest_street": busiest_street}
    return staff, info


# --- shared state for the loading processes (inherited by fork) -----------------------------
@dataclass
class World:
    seed: int
    end: float  # generation's "now" (epoch seconds)
    tree: Tree
    staff: Staff
    grid_cum: list[float]
    workstations: list[int]
    case_times: list[float]
    case_seqs: list[int]
    call_times: list[float]
    # (local day, unit, amount) → (due datetime, provisional)
    due: dict[tuple[int, str, int], tuple[datetime, bool]]
    rules: dict[tuple[str, str], tuple[str, int]]  # (stage, complexity) → (unit, amount)
    hash_key: bytes
    encryption_keys: str
    sessions_table: str | None


WORLD: World | None = None


def month_cum_weights() -> dict[int, list[float]]:
    cats = list(tp.CATEGORY_WEIGHTS)
    out = {}
    for m in range(1, 13):
        w = [tp.CATEGORY_WEIGHTS[c] * tp.CATEGORY_SEASON.get(c, {}).get(m, 1.0) for c in cats]
        out[m] = list(accumulate(w))
    return out


CATS = list(tp.CATEGORY_WEIGHTS)
MONTH_CUM = month_cum_weights()
SOURCES = list(tp.SOURCE_WEIGHTS)
SOURCE_CUM = {
    c: list(
        accumulate(
            tp.SOURCE_WEIGHTS[s] * tp.SOURCE_BY_CATEGORY.get(c, {}).get(s, 1.0) for s in SOURCES
        )
    )
    for c in CATS
}
COMPLEXITIES = ["simple", "complex", "difficult"]
COMPLEXITY_CUM = {
    c: list(accumulate(tp.COMPLEXITY_BY_CATEGORY.get(c, tp.DEFAULT_COMPLEXITY))) for c in CATS
}
RISKS = ["yellow", "orange", "red"]
RISK_CUM = list(accumulate([0.80, 0.16, 0.04]))
N_PARTIES = W((1, 2, 3, 4, 6), (3, 72, 15, 6, 4))
CHANNEL = W(("people", "police_joint", "judicial", "psychological"), (70, 15, 10, 5))
PERFORMANCE = W(("full", "partial", "pending", "none"), (70, 10, 15, 5))
PERFORMED = W(("full", "partial", "none"), (82, 13, 5))
SATISFACTION = W(("very_satisfied", "satisfied", "neutral", "dissatisfied"), (45, 40, 11, 4))
FLARE_UP = W(("low", "medium", "high"), (85, 12, 3))
MEDIATION_DAYS = {"simple": 2.0, "complex": 4.5, "difficult": 14.0}
HOUR_WEIGHTS = [
    0.3,
    0.2,
    0.15,
    0.1,
    0.1,
    0.2,
    0.5,
    1.2,
    3.0,
    4.5,
    4.8,
    4.0,
    2.5,
    3.0,
    4.2,
    4.4,
    4.0,
    3.2,
    2.0,
    1.6,
    1.3,
    1.0,
    0.7,
    0.5,
]
CALL_HOUR_WEIGHTS = [
    2.0,
    1.6,
    1.2,
    0.9,
    0.6,
    0.5,
    0.6,
    0.8,
    1.2,
    1.6,
    1.8,
    1.8,
    1.6,
    1.6,
    1.8,
    1.9,
    2.0,
    2.1,
    2.4,
    2.8,
    3.2,
    3.4,
    3.2,
    2.6,
]


def arrival_times(
    rng: random.Random, n: int, end: float, cal: WorkingCalendar, hours: list[float], office: bool
) -> list[float]:
    """`n` sorted instants over the two years before `end`: a growing trend, fewer on rest days
    (for office intake), a little seasonality, and the hour-of-day profile `hours`."""
    end_day = local_day(end)
    days = list(range(end_day - 365 * YEARS, end_day))
    weights = []
    for k, d in enumerate(days):
        dd = day_date(d)
        w = 0.85 + 0.3 * k / len(days)
        if office:
            if cal.is_working(dd):
                w *= 1.12 if dd.weekday() == 0 else 1.0
            else:
                w *= 0.5 if dd.weekday() >= 5 else 0.35  # weekend, public holiday
        elif dd.month in (1, 2, 11, 12):
            w *= 1.15  # the hotline is busier in the dark months
        weights.append(w)
    picked_days = rng.choices(days, cum_weights=list(accumulate(weights)), k=n)
    picked_hours = rng.choices(range(24), cum_weights=list(accumulate(hours)), k=n)
    out = [
        d * DAY - CST + h * HOUR + rng.random() * HOUR
        for d, h in zip(picked_days, picked_hours, strict=True)
    ]
    out.sort()
    return [min(t, end - 1.0) for t in out]


# --- cases --------------------------------------------------------------------------------
CASE_COLUMNS = [
    "id",
    "number",
    "number_ascii",
    "district_id",
    "year",
    "seq",
    "title",
    "facts",
    "claims",
    "party_names",
    "category_code",
    "source",
    "complexity",
    "risk_colour",
    "status",
    "unit_id",
    "unit_path",
    "building_id",
    "handling_unit_id",
    "handling_unit_path",
    "address",
    "occurred_at",
    "amount_involved",
    "prevent_criminal",
    "prevent_group_petition",
    "prevent_suicide",
    "prevent_group_fight",
    "channels",
    "handler_person_ids",
    "external_client_id",
    "external_ref",
    "reported_by_kind",
    "reported_by_id",
    "reported_by_name",
    "is_repeat",
    "received_at",
    *CASE_STAMPS,
    "reopened_at",
    "reason",
    "referral_target",
    "paused_at",
    "pause_reason",
    "current_stage",
    "due_at",
    "due_provisional",
    "version",
    "created_at",
    "updated_at",
]
PARTY_COLUMNS = [
    "id",
    "case_id",
    "position",
    "kind",
    "side",
    "name",
    "phone",
    "id_number",
    "org_code",
    "is_minor",
    "address",
    "guardian_name",
    "guardian_phone",
    "guardian_id_number",
    "guardian_relation",
    "phone_hash",
    "id_hash",
    "created_at",
    "updated_at",
]
EVENT_COLUMNS = [
    "id",
    "case_id",
    "type",
    "at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "client_id",
    "request_id",
    "from_status",
    "to_status",
    "body",
    "data",
]
DEADLINE_COLUMNS = [
    "id",
    "case_id",
    "stage",
    "unit",
    "amount",
    "extended_by",
    "paused_by",
    "started_at",
    "due_at",
    "provisional",
    "paused_since",
    "met_at",
    "cancelled_at",
]
HANDLER_COLUMNS = [
    "id",
    "case_id",
    "person_id",
    "channel",
    "is_lead",
    "assumed_at",
    "renounced_at",
    "assigned_by_id",
]
AGREEMENT_COLUMNS = [
    "id",
    "case_id",
    "form",
    "terms",
    "amount",
    "performance_method",
    "performance_due_on",
    "effective_on",
    "signed_by_parties",
    "mediator_person_ids",
    "judicial_confirmation_until",
    "judicial_confirmation_requested_on",
    "judicial_confirmation_court",
    "performance_status",
    "created_at",
    "updated_at",
]
FOLLOW_UP_COLUMNS = [
    "id",
    "case_id",
    "visited_at",
    "method",
    "performance",
    "satisfaction",
    "flare_up_risk",
    "notes",
    "recorded_at",
    "recorded_by_id",
    "recorded_by_name",
]
LINK_COLUMNS = ["id", "case_id", "related_case_id", "reason", "created_at"]
CALL_COLUMNS = [
    "id",
    "unit_id",
    "unit_path",
    "counselor_id",
    "created_by",
    "started_at",
    "ended_at",
    "duration_seconds",
    "channel",
    "call_type",
    "caller_anonymous",
    "caller_alias",
    "caller_age_band",
    "caller_gender",
    "caller_is_minor",
    "caller_hash",
    "callback_consent",
    "callback_number_enc",
    "callback_key_id",
    "topics",
    "risk_level",
    "imminent_risk",
    "risk_assessment",
    "actions",
    "referral_to",
    "summary",
    "follow_up_due",
    "follow_up_done_at",
    "follow_up_note",
    "flagged_at",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledge_note",
    "reviewed_at",
    "reviewed_by",
    "review_outcome",
    "review_comment",
    "case_id",
    "deidentified_at",
    "version",
    "created_at",
    "updated_at",
]
CALL_EVENT_COLUMNS = [
    "id",
    "call_id",
    "at",
    "kind",
    "actor_id",
    "actor_person_id",
    "actor_name",
    "detail",
]

COLUMNS = {
    "cases": CASE_COLUMNS,
    "case_parties": PARTY_COLUMNS,
    "case_events": EVENT_COLUMNS,
    "case_deadlines": DEADLINE_COLUMNS,
    "case_handlers": HANDLER_COLUMNS,
    "case_agreements": AGREEMENT_COLUMNS,
    "case_follow_ups": FOLLOW_UP_COLUMNS,
    "case_links": LINK_COLUMNS,
    "hotline_calls": CALL_COLUMNS,
    "hotline_call_events": CALL_EVENT_COLUMNS,
}


class CaseMaker:
    """Makes the rows of one slice of cases (one process)."""

    def __init__(self, w: World, rng: random.Random) -> None:
        self.w = w
        self.rng = rng
        t = w.tree
        self.grids = t.by_level["grid"]
        self.district = t.by_level["district"][0]
        self.dispatchers = w.staff.at[("dispatcher", self.district)]
        self.judicial = w.staff.at[("judicial_mediator", self.district)]
        self.hmac_base = hmac.new(w.hash_key, digestmod=hashlib.sha256)
        # Recent parties per grid and recent cases per building, for repeat disputes.
        self.recent_parties: dict[int, deque[tuple[float, uuid.UUID, str]]] = defaultdict(
            lambda: deque(maxlen=40)
        )
        self.recent_cases: dict[int, deque[tuple[float, uuid.UUID]]] = defaultdict(
            lambda: deque(maxlen=3)
        )
        self.rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)

    def keyed(self, kind: str, value: str) -> str:
        h = self.hmac_base.copy()
        h.update(f"{kind}:{value}".encode())
        return h.hexdigest()

    def place(self) -> int:
        rng = self.rng
        g = self.grids[bisect.bisect(self.w.grid_cum, rng.random() * self.w.grid_cum[-1])]
        r = rng.random()
        buildings = self.w.tree.children.get(g, [])
        if r < 0.9 and buildings:
            b = rng.choice(buildings)
            units = self.w.tree.children.get(b, [])
            if r >= 0.68 and units:
                return rng.choice(units)
            return b
        return g

    def user(self, person: uuid.UUID) -> tuple[uuid.UUID, str]:
        return self.w.staff.user_of[person], self.w.staff.name_of[person]

    def due(self, stage: str, complexity: str, start: float) -> tuple[str, int, datetime, bool]:
        unit, amount = self.w.rules[(stage, complexity)]
        due, provisional = self.w.due[(local_day(start), unit, amount)]
        return unit, amount, due, provisional

    def make(self, i: int) -> None:
        w, rng, tree, staff = self.w, self.rng, self.w.tree, self.w.staff
        rows = self.rows
        t0 = w.case_times[i]
        now = w.end
        received = ts(t0)
        month = (received + timedelta(hours=8)).month
        cat = CATS[bisect.bisect(MONTH_CUM[month], rng.random() * MONTH_CUM[month][-1])]
        cum = SOURCE_CUM[cat]
        source = SOURCES[bisect.bisect(cum, rng.random() * cum[-1])]
        complexity = COMPLEXITIES[min(2, bisect.bisect(COMPLEXITY_CUM[cat], rng.random()))]
        risk = RISKS[min(2, bisect.bisect(RISK_CUM, rng.random()))]
        place = self.place()
        grid = tree.grid_of[place]
        street = tree.street_of[place]
        community = tree.community_of[place]
        building = tree.building_of[place]
        handling = {"simple": grid, "complex": street, "difficult": self.district}[complexity]
        case_id = new_id(rng, t0)
        year = (received + timedelta(hours=8)).year
        seq = w.case_seqs[i]

        # Who reported it.
        if source == "grid_report":
            reporter = staff.at[("grid_head", grid)][0]
        else:
            reporter = rng.choice(self.dispatchers)
        reporter_user, reporter_name = self.user(reporter)

        # Parties.
        n_parties = N_PARTIES(rng)
        if cat in ("labour", "land_acquisition") and rng.random() < 0.4:
            n_parties += rng.randint(2, 8)
        parties = []
        names = []
        repeat_of: list[tuple[uuid.UUID, str]] = []
        recent = self.recent_parties[grid]
        for pos in range(n_parties):
            side = (
                "applicant"
                if pos == 0
                else ("respondent" if pos == 1 else rng.choice(("applicant", "third_party")))
            )
            pid = new_id(rng, t0)
            if (
                side == "respondent"
                and cat in ("property_management", "labour", "contract", "consumer")
                and rng.random() < 0.6
            ):
                oname, code = tp.org(rng)
                parties.append(
                    (
                        pid,
                        case_id,
                        pos,
                        "organisation",
                        side,
                        oname,
                        tp.phone(rng),
                        None,
                        code,
                        False,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        received,
                        received,
                    )
                )
                names.append(oname)
                continue
            name = tp.person_name(rng)
            phone = None
            if recent and rng.random() < 0.06:  # the same person again: a repeat dispute
                t_prev, prev_case, phone = rng.choice(recent)
                if t0 - t_prev <= 180 * DAY:
                    repeat_of.append((prev_case, "same_phone"))
            if phone is None and rng.random() < 0.9:
                phone = tp.phone(rng)
            id_number = (
                tp.resident_id(rng, rng.randint(1945, 2004)) if rng.random() < 0.55 else None
            )
            minor = rng.random() < 0.02
            guardian = (
                (tp.person_name(rng), tp.phone(rng), rng.choice(tp.RELATIONS)) if minor else None
            )
            address = (
                f"{tree.name[building]}{rng.choice(tp.ROOMS)}室"
                if building >= 0 and rng.random() < 0.6
                else None
            )
            parties.append(
                (
                    pid,
                    case_id,
                    pos,
                    "person",
                    side,
                    name,
                    phone,
                    id_number,
                    None,
                    minor,
                    address,
                    guardian[0] if guardian else None,
                    guardian[1] if guardian else None,
                    None,
                    guardian[2] if guardian else None,
                    self.keyed("phone", phone) if phone else None,
                    self.keyed("id", id_number) if id_number else None,
                    received,
                    received,
                )
            )
            names.append(name)
            if guardian:
                names.append(guardian[0])
            if phone:
                recent.append((t0, case_id, phone))
        applicant = names[0]
        title, facts, claims = tp.case_text(rng, cat, applicant)
        if building >= 0:
            for t_prev, prev_case in self.recent_cases[building]:
                if t0 - t_prev <= 180 * DAY:
                    repeat_of.append((prev_case, "same_building"))
            self.recent_cases[building].append((t0, case_id))
        rows["case_parties"].extend(parties)
        repeat_of = list(dict.fromkeys(repeat_of))

        # The life cycle up to now.
        events: list[
            tuple[str, float, uuid.UUID | None, str, str | None, str | None, str | None, str]
        ] = []
        stamps: dict[str, float] = {}
        deadlines: list[list[Any]] = []

        def event(
            kind: str,
            t: float,
            person: uuid.UUID | None,
            frm: str | None,
            to: str | None,
            body: str | None = None,
            data: str = "{}",
        ) -> None:
            if person is None:
                events.append((kind, t, reporter_user, reporter_name, frm, to, body, data))
            else:
                u, n = self.user(person)
                events.append((kind, t, u, n, frm, to, body, data))

        def start_deadline(stage: str, t: float) -> list[Any]:
            unit, amount, due, provisional = self.due(stage, complexity, t)
            d = [
                new_id(rng, t),
                case_id,
                stage,
                unit,
                amount,
                0,
                0,
                ts(t),
                due,
                provisional,
                None,
                None,
                None,
            ]
            deadlines.append(d)
            return d

        event(
            "created",
            t0,
            None,
            None,
            "received",
            data=json.dumps({"source": source, "parties": len(parties)}),
        )
        if repeat_of:
            links = [{"case_id": str(c), "reason": r} for c, r in repeat_of]
            event("repeat_detected", t0, None, None, None, data=json.dumps({"links": links}))
            for prev, reason in repeat_of:
                rows["case_links"].append((new_id(rng, t0), case_id, prev, reason, received))
        status = "received"
        running = start_deadline("first_response", t0)
        dispatcher = rng.choice(self.dispatchers)
        handlers: list[tuple[uuid.UUID, str]] = []
        reason = referral = None
        t = t0
        outcome = rng.random()

        def step(hours: float) -> float | None:
            nonlocal t
            nt = t + hours * HOUR
            if nt > now:
                return None
            t = nt
            return nt

        if outcome < 0.04:
            if step(rng.expovariate(1 / 6)):
                status = "rejected"
                stamps["rejected_at"] = t
                running[11] = ts(t)
                reason = "不属于人民调解受理范围，已告知当事人通过诉讼途径解决。"
                event("rejected", t, dispatcher, "received", "rejected", body=reason)
                running = None
        elif step(min(rng.expovariate(1 / 9), 60)):
            status = "accepted"
            stamps["accepted_at"] = t
            running[11] = ts(t)
            event("accepted", t, dispatcher, "received", "accepted")
            running = start_deadline("mediation", t)
            if step(rng.expovariate(1 / 5)):
                status = "assigned"
                stamps["assigned_at"] = t
                lead_channel = CHANNEL(rng)
                pool = {
                    "people": staff.at[("mediator", community)] + staff.at[("mediator", street)],
                    "police_joint": staff.at[("police", community)]
                    or staff.at[("mediator", street)],
                    "judicial": self.judicial,
                    "psychological": staff.at[("counselor", community)]
                    or staff.at[("mediator", street)],
                }[lead_channel]
                if lead_channel == "psychological" and not staff.at[("counselor", community)]:
                    lead_channel = "people"
                handlers.append((rng.choice(pool), lead_channel))
                if rng.random() < 0.12 and staff.at[("legal_advisor", community)]:
                    handlers.append((staff.at[("legal_advisor", community)][0], "people"))
                event(
                    "assigned",
                    t,
                    dispatcher,
                    "accepted",
                    "assigned",
                    data=json.dumps({"handlers": [str(h) for h, _ in handlers]}),
                )
                lead = handlers[0][0]
                if step(rng.expovariate(1 / 18)):
                    status = "in_mediation"
                    stamps["mediation_started_at"] = t
                    event("mediation_started", t, lead, "assigned", "in_mediation")
                    if rng.random() < 0.2:
                        event(
                            "commented",
                            t + 600,
                            lead,
                            None,
                            None,
                            body="已与双方当事人电话沟通，约定调解时间。",
                        )
                    took = rng.expovariate(1 / (MEDIATION_DAYS[complexity] * 24))
                    if outcome < 0.82 and step(took):
                        status = "resolved"
                        stamps["resolved_at"] = t
                        running[11] = ts(t)
                        event("resolved", t, lead, "in_mediation", "resolved")
                        self.agreement(case_id, t, handlers, cat)
                        running = start_deadline("follow_up", t)
                        if step(24 + rng.expovariate(1 / 120)):
                            status = "followed_up"
                            stamps["followed_up_at"] = t
                            running[11] = ts(t)
                            running = None
                            self.follow_up(case_id, t, lead)
                            event("followed_up", t, lead, "resolved", "followed_up")
                            if step(rng.expovariate(1 / 40)):
                                status = "closed"
                                stamps["closed_at"] = t
                                event("closed", t, dispatcher, "followed_up", "closed")
                    elif outcome < 0.94 and step(took):
                        status = "failed"
                        stamps["failed_at"] = t
                        running[11] = ts(t)
                        running = None
                        reason = "双方分歧较大，调解不成。"
                        referral = rng.choice(
                            ("litigation", "arbitration", "administrative", "other_department")
                        )
                        event("failed", t, lead, "in_mediation", "failed", body=reason)
                        if step(rng.expovariate(1 / 60)):
                            status = "closed"
                            stamps["closed_at"] = t
                            event("closed", t, dispatcher, "failed", "closed")
                    elif 0.94 <= outcome < 0.985 and step(rng.expovariate(1 / 48)):
                        status = "withdrawn"
                        stamps["withdrawn_at"] = t
                        running[12] = ts(t)
                        running = None
                        reason = "申请人撤回调解申请。"
                        event("withdrawn", t, lead, "in_mediation", "withdrawn", body=reason)

        paused_at = None
        if (
            running is not None
            and status in ("accepted", "assigned", "in_mediation")
            and rng.random() < 0.03
        ):
            paused_at = ts(t + 3600)
            if paused_at.timestamp() < now:
                running[10] = paused_at
                event("paused", t + 3600, dispatcher, None, None, body="等待当事人补充材料。")
            else:
                paused_at = None

        for d in deadlines:
            rows["case_deadlines"].append(tuple(d))
        for kind, at, actor, actor_name, frm, to, body, data in events:
            rows["case_events"].append(
                (
                    new_id(rng, at),
                    case_id,
                    kind,
                    ts(at),
                    "user",
                    actor,
                    actor_name,
                    None,
                    None,
                    frm,
                    to,
                    body,
                    data,
                )
            )
        channels = sorted({c for _, c in handlers})
        handler_ids = [h for h, _ in handlers]
        for k, (person, channel) in enumerate(handlers):
            rows["case_handlers"].append(
                (
                    new_id(rng, stamps["assigned_at"]),
                    case_id,
                    person,
                    channel,
                    k == 0,
                    ts(stamps["assigned_at"]),
                    None,
                    self.user(dispatcher)[0],
                )
            )
        amount = (
            Decimal(rng.choice((500, 1000, 2000, 3000, 5000, 8000, 20000, 50000)))
            if rng.random() < 0.45
            else None
        )
        prevention = [None, None, None, None]
        if risk != "yellow" and rng.random() < 0.5:
            prevention[rng.choice((0, 1, 3))] = rng.randint(2, 12)
        last = max([t0, *stamps.values()] + ([paused_at.timestamp()] if paused_at else []))
        rows["cases"].append(
            (
                case_id,
                f"铁西调〔{year}〕{seq:04d}号",
                f"220302-{year}-{seq:04d}",
                tree.ids[self.district],
                year,
                seq,
                title,
                facts,
                claims,
                " ".join(names),
                cat,
                source,
                complexity,
                risk,
                status,
                tree.ids[place],
                tree.path[place],
                tree.ids[building] if building >= 0 else None,
                tree.ids[handling],
                tree.path[handling],
                f"{tree.name[community]}{tree.name[building] if building >= 0 else ''}",
                ts(t0 - rng.uniform(1, 96) * HOUR),
                amount,
                *prevention,
                channels,
                handler_ids,
                None,
                None,
                "user",
                reporter_user,
                reporter_name,
                bool(repeat_of),
                received,
                *(ts(stamps[k]) if k in stamps else None for k in CASE_STAMPS),
                None,  # reopened_at
                reason,
                referral,
                paused_at,
                "等待当事人补充材料。" if paused_at else None,
                running[2] if running else None,
                running[8] if running else None,
                running[9] if running else False,
                len(events),
                received,
                ts(last),
            )
        )

    def agreement(
        self, case_id: uuid.UUID, t: float, handlers: list[tuple[uuid.UUID, str]], cat: str
    ) -> None:
        rng = self.rng
        effective = day_date(local_day(t))
        amount = Decimal(rng.choice((800, 1500, 3000, 6000, 12000))) if rng.random() < 0.5 else None
        requested = effective + timedelta(days=rng.randint(3, 25)) if rng.random() < 0.08 else None
        self.rows["case_agreements"].append(
            (
                new_id(rng, t),
                case_id,
                "written" if rng.random() < 0.62 else "oral",
                "双方自愿达成如下协议：一、责任方于约定期限内履行义务；二、双方今后互谅互让，不再因此事发生纠纷。",
                amount,
                "一次性现金支付" if amount else "按协议约定履行",
                effective + timedelta(days=rng.randint(3, 30)) if amount else None,
                effective,
                rng.random() < 0.9,
                [h for h, _ in handlers],
                effective + timedelta(days=30),
                requested,
                rng.choice(tp.COURTS) if requested else None,
                PERFORMANCE(rng),
                ts(t),
                ts(t),
            )
        )

    def follow_up(self, case_id: uuid.UUID, t: float, lead: uuid.UUID) -> None:
        rng = self.rng
        user, name = self.user(lead)
        self.rows["case_follow_ups"].append(
            (
                new_id(rng, t),
                case_id,
                ts(t - 7200),
                rng.choice(("visit", "phone", "phone", "online")),
                PERFORMED(rng),
                SATISFACTION(rng),
                FLARE_UP(rng),
                "当事人表示协议已履行，关系缓和。",
                ts(t),
                user,
                name,
            )
        )


# --- hotline ------------------------------------------------------------------------------
TOPIC = W(
    [
        "emotional_distress",
        "marriage_family",
        "study_work_stress",
        "interpersonal",
        "minors_mental_health",
        "special_family",
        "other",
    ],
    [30, 20, 15, 12, 10, 5, 8],
)
CALL_TYPE = W(
    ("valid", "silent", "hang_up", "prank", "wrong_number", "abusive"), (68, 10, 9, 5, 5, 3)
)
CALL_CHANNEL = W(("phone", "wechat", "online", "other"), (78, 12, 8, 2))
AGE_BAND = W(
    ("under_14", "14_17", "18_29", "30_44", "45_59", "60_plus", "unknown"),
    (4, 9, 24, 26, 18, 9, 10),
)
RISK_LEVEL = W(("none", "low", "medium", "high"), (70, 18, 8, 4))


class CallMaker:
    def __init__(self, w: World, rng: random.Random) -> None:
        self.w = w
        self.rng = rng
        self.hmac_base = hmac.new(w.hash_key, digestmod=hashlib.sha256)
        self.cipher = FieldCipher.from_setting(w.encryption_keys)
        # Frequent callers: a few numbers ring again and again.
        self.regulars = [tp.phone(rng) for _ in range(max(10, len(w.call_times) // 250))]
        self.rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)

    def make(self, i: int) -> None:
        w, rng, staff, tree = self.w, self.rng, self.w.staff, self.w.tree
        t0 = w.call_times[i]
        ws = w.workstations[int(rng.random() ** 1.6 * len(w.workstations))]
        counselor = rng.choice(staff.at[("counselor", ws)])
        supervisor = staff.at[("hotline_supervisor", ws)][0]
        c_user, c_name = staff.user_of[counselor], staff.name_of[counselor]
        call_id = new_id(rng, t0)
        call_type = CALL_TYPE(rng)
        valid = call_type == "valid"
        duration = int(rng.lognormvariate(7.2, 0.6)) if valid else rng.randint(5, 120)
        channel = CALL_CHANNEL(rng)
        anonymous = not valid or rng.random() < 0.6
        number = None
        if channel == "phone" and rng.random() < 0.7:
            number = rng.choice(self.regulars) if rng.random() < 0.25 else tp.phone(rng)
        caller_hash = None
        if number:
            h = self.hmac_base.copy()
            h.update(f"phone:{number}".encode())
            caller_hash = h.hexdigest()
        age = AGE_BAND(rng) if valid else None
        consent = valid and not anonymous and number is not None and rng.random() < 0.25
        enc = key_id = None
        if consent:
            sealed = self.cipher.encrypt(number, context=call_id.bytes)  # type: ignore[arg-type]
            enc, key_id = sealed.blob, sealed.key_id
        risk = RISK_LEVEL(rng) if valid else None
        assessment = None
        if risk is not None:
            assessment = json.dumps(
                {
                    "suicidal_desire": risk in ("medium", "high"),
                    "desire_factors": ["psychological_pain"] if risk != "none" else [],
                    "suicidal_capability": risk == "high",
                    "capability_factors": [],
                    "suicidal_intent": risk == "high" and rng.random() < 0.5,
                    "intent_factors": [],
                    "buffers": ["social_support", "future_plans"],
                    "notes": None,
                }
            )
        imminent = risk == "high" and rng.random() < 0.2
        started, ended = ts(t0), ts(t0 + duration)
        flagged = ts(t0 + duration) if risk == "high" else None
        acked = (
            ts(t0 + duration + rng.uniform(300, 7200)) if flagged and t0 + 8000 < w.end else None
        )
        reviewed = (
            ts(t0 + rng.uniform(1, 7) * DAY)
            if valid and rng.random() < 0.1 and t0 + 7 * DAY < w.end
            else None
        )
        follow_due = ts(t0 + 3 * DAY) if risk in ("medium", "high") else None
        follow_done = (
            ts(t0 + rng.uniform(1, 3) * DAY)
            if follow_due and t0 + 3 * DAY < w.end and rng.random() < 0.9
            else None
        )
        topics = sorted({TOPIC(rng) for _ in range(rng.choice((1, 1, 2)))}) if valid else []
        actions = ["counseling"] + (
            ["safety_plan", "crisis_intervention"] if risk == "high" else []
        )
        last = max(x.timestamp() for x in (ended, acked, reviewed, follow_done) if x is not None)
        self.rows["hotline_calls"].append(
            (
                call_id,
                tree.ids[ws],
                tree.path[ws],
                counselor,
                c_user,
                started,
                ended,
                duration,
                channel,
                call_type,
                anonymous,
                None if anonymous else tp.person_name(rng)[0] + "先生",
                age,
                rng.choice(("female", "male", "unknown")) if valid else None,
                age in ("under_14", "14_17") if age else None,
                caller_hash,
                consent,
                enc,
                key_id,
                topics,
                risk,
                imminent,
                assessment,
                actions if valid else [],
                "市心理卫生中心" if risk == "high" and rng.random() < 0.5 else None,
                "来电者倾诉近期压力较大，经疏导情绪平稳。" if valid else None,
                follow_due,
                follow_done,
                "已回访，情绪稳定。" if follow_done else None,
                flagged,
                acked,
                supervisor if acked else None,
                "已确认并跟进。" if acked else None,
                reviewed,
                supervisor if reviewed else None,
                "appropriate" if reviewed else None,
                None,
                None,
                None,
                1 + (acked is not None) + (reviewed is not None) + (follow_done is not None),
                started,
                ts(last),
            )
        )
        ev = self.rows["hotline_call_events"]
        ev.append(
            (new_id(rng, t0 + duration), call_id, ended, "created", c_user, counselor, c_name, "{}")
        )
        s_user, s_name = staff.user_of[supervisor], staff.name_of[supervisor]
        if flagged:
            ev.append(
                (new_id(rng, t0 + duration), call_id, flagged, "flagged", None, None, "系统", "{}")
            )
        if acked:
            ev.append(
                (
                    new_id(rng, acked.timestamp()),
                    call_id,
                    acked,
                    "acknowledged",
                    s_user,
                    supervisor,
                    s_name,
                    "{}",
                )
            )
        if reviewed:
            ev.append(
                (
                    new_id(rng, reviewed.timestamp()),
                    call_id,
                    reviewed,
                    "reviewed",
                    s_user,
                    supervisor,
                    s_name,
                    "{}",
                )
            )
        if follow_done:
            ev.append(
                (
                    new_id(rng, follow_done.timestamp()),
                    call_id,
                    follow_done,
                    "follow_up_done",
                    c_user,
                    counselor,
                    c_name,
                    "{}",
                )
            )


# --- mediation sessions -------------------------------------------------------------------
SESSION_COLUMNS = [
    "id",
    "case_id",
    "case_number",
    "unit_id",
    "unit_path",
    "kind",
    "mode",
    "status",
    "starts_at",
    "ends_at",
    "place",
    "place_key",
    "meeting_info",
    "mediator_person_ids",
    "party_ids",
    "is_public",
    "privacy_reason",
    "privacy_note",
    "recording_consent",
    "rights_notice_given",
    "notes",
    "attended_person_ids",
    "attended_party_ids",
    "held_ended_at",
    "minutes",
    "outcome",
    "next_step",
    "next_step_note",
    "outcome_recorded_at",
    "cancelled_at",
    "cancel_reason",
    "reschedule_count",
    "created_by_name",
    "version",
    "created_at",
    "updated_at",
]
SESSION_MEDIATOR_COLUMNS = ["id", "session_id", "person_id", "role", "body", "is_lead", "position"]
BOOKING_COLUMNS = ["id", "session_id", "person_id", "place_key", "during", "active"]
SESSION_EVENT_COLUMNS = [
    "id",
    "session_id",
    "type",
    "at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "client_id",
    "request_id",
    "body",
    "data",
]
COLUMNS.update(
    mediation_sessions=SESSION_COLUMNS,
    session_mediators=SESSION_MEDIATOR_COLUMNS,
    session_bookings=BOOKING_COLUMNS,
    session_events=SESSION_EVENT_COLUMNS,
)
BODY_OF_ROLE = {
    "mediator": "mediation_committee",
    "judicial_mediator": "court",
    "police": "police",
    "legal_advisor": "legal_service",
    "counselor": "counseling",
}
KIND_OF_ROLE = {"police": "police_joint", "judicial_mediator": "judicial"}
# Sessions start at fixed times of the day (an hour each, back to back), so a greedy
# allocator can keep every mediator and room to one session at a time.
SLOTS = [(8, 30), (9, 30), (10, 30), (13, 30), (14, 30), (15, 30), (16, 30), (18, 30)]
SESSION_MINUTES = 60
SESSION_MODE = W(("on_site", "video", "telephone"), (85, 8, 7))


async def _load_sessions(url: str, w: World, n: int) -> dict[str, int]:
    """About `n` sessions for a sample of the cases that reached mediation (held, some
    cancelled) and of the running ones (scheduled ahead). A greedy allocator gives each its
    slot, so no mediator and no room is booked twice at once: the exclusion constraints
    rebuilt after the load hold."""
    from asyncpg import Range

    from mediation.sessions.rules import place_key

    rng = random.Random(f"{w.seed}:sessions")
    tree, staff = w.tree, w.staff
    index_of = {u: i for i, u in enumerate(tree.ids)}
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET session_replication_role = replica; SET synchronous_commit = off")
        eligible = await conn.fetchval(
            "SELECT count(*) FROM cases WHERE mediation_started_at IS NOT NULL "
            "OR status IN ('accepted', 'assigned')"
        )
        # 1.15 sessions a sampled case; about one in eight finds no free slot within 60 days
        # for its mediators and room (busy street mediators) and is dropped.
        per_mille = max(1, min(1000, round(1000 * n / (max(1, eligible) * 1.15 * 0.87))))
        rows = await conn.fetch(
            """
            SELECT c.id, c.number, c.unit_id, c.unit_path, c.status, c.received_at,
                   c.mediation_started_at, c.assigned_at, c.accepted_at,
                   coalesce(c.resolved_at, c.failed_at, c.withdrawn_at) AS ended,
                   c.handler_person_ids,
                   (SELECT array_agg(p.id ORDER BY p.position) FROM case_parties p
                     WHERE p.case_id = c.id) AS parties
            FROM cases c
            WHERE (c.mediation_started_at IS NOT NULL OR c.status IN ('accepted', 'assigned'))
              AND abs(hashtext(c.id::text)) % 1000 < $1
            ORDER BY c.received_at, c.id
            """,
            per_mille,
        )
        dispatchers = staff.at[("dispatcher", tree.by_level["district"][0])]
        busy: set[tuple[Any, int, int]] = set()
        out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        end_day = local_day(w.end)
        for r in rows:
            place_ix = index_of[r["unit_id"]]
            community = tree.community_of[place_ix]
            street = tree.street_of[place_ix]
            mediators = (
                list(r["handler_person_ids"])
                or (staff.at[("mediator", community)] or staff.at[("mediator", street)])[:1]
            )
            parties = list(r["parties"] or [])
            running = r["ended"] is None and r["status"] in ("accepted", "assigned", "in_mediation")
            for k in range(2 if rng.random() < 0.15 else 1):
                start_t = (
                    r["mediation_started_at"] or r["assigned_at"] or r["accepted_at"]
                ).timestamp()
                day = local_day(start_t) + (1 if running else 0) + k * 3
                if running:
                    day = max(day, end_day + rng.randint(0, 10))
                mode = SESSION_MODE(rng)
                room = f"{tree.name[community]}调解室" if mode == "on_site" else None
                key = place_key(room)
                slot = None
                for d in range(day, day + 60):
                    if day_date(d).weekday() >= 5 and rng.random() < 0.8:
                        continue
                    for s in rng.sample(range(len(SLOTS)), len(SLOTS)):
                        if all((m, d, s) not in busy for m in mediators) and (
                            key is None or (key, d, s) not in busy
                        ):
                            slot = (d, s)
                            break
                    if slot:
                        break
                if slot is None:
                    continue
                d, s = slot
                for m in mediators:
                    busy.add((m, d, s))
                if key:
                    busy.add((key, d, s))
                hh, mm = SLOTS[s]
                starts = datetime(*day_date(d).timetuple()[:3], hh, mm, tzinfo=CENTER_TZ)
                ends = starts + timedelta(minutes=SESSION_MINUTES)
                st = starts.timestamp()
                # Planned a day or three ahead (never after "now"); held if it is over.
                scheduled_at = min(st - rng.uniform(1, 3) * DAY, max(start_t, st - 3600))
                scheduled_at = min(scheduled_at, w.end - rng.uniform(60, 3600))
                length = SESSION_MINUTES * 60
                held = st + length < w.end and not running
                cancelled = rng.random() < 0.04
                status = "cancelled" if cancelled else ("held" if held else "scheduled")
                sid = new_id(rng, scheduled_at)
                lead_role = staff.role_of[mediators[0]]
                kind = KIND_OF_ROLE.get(lead_role, "people")
                public = rng.random() < 0.2
                outcome = next_step = None
                if status == "held":
                    outcome = (
                        "agreement"
                        if r["status"] in ("resolved", "followed_up", "closed")
                        and rng.random() < 0.85
                        else rng.choice(("none", "partial", "postponed"))
                    )
                    next_step = {
                        "agreement": "performance",
                        "partial": "another_session",
                        "postponed": "another_session",
                        "none": "litigation",
                    }[outcome]
                actor = rng.choice(dispatchers)
                a_user, a_name = staff.user_of[actor], staff.name_of[actor]
                done = ts(st + length) if status == "held" else None
                cancelled_at = ts(st - rng.uniform(1, 20) * HOUR) if cancelled else None
                last = max(
                    scheduled_at,
                    done.timestamp() if done else 0,
                    cancelled_at.timestamp() if cancelled_at else 0,
                )
                out["mediation_sessions"].append(
                    (
                        sid,
                        r["id"],
                        r["number"],
                        r["unit_id"],
                        r["unit_path"],
                        kind,
                        mode,
                        status,
                        starts,
                        ends,
                        room,
                        key,
                        None if room else "腾讯会议 123-456-789",
                        mediators,
                        parties,
                        public,
                        None if public else "party_request",
                        None,
                        rng.random() < 0.6,
                        True,
                        None,
                        mediators if done else [],
                        parties if done else [],
                        done,
                        "双方陈述事实及诉求，调解员释法明理。" if done else None,
                        outcome,
                        next_step,
                        None,
                        done,
                        cancelled_at,
                        "当事人临时有事，另行安排。" if cancelled else None,
                        0,
                        a_name,
                        1 + (done is not None) + cancelled,
                        ts(scheduled_at),
                        ts(last),
                    )
                )
                for pos, m in enumerate(mediators):
                    role = staff.role_of[m]
                    out["session_mediators"].append(
                        (
                            new_id(rng, scheduled_at),
                            sid,
                            m,
                            role,
                            BODY_OF_ROLE.get(role, "mediation_committee"),
                            pos == 0,
                            pos,
                        )
                    )
                    out["session_bookings"].append(
                        (
                            new_id(rng, scheduled_at),
                            sid,
                            m,
                            None,
                            Range(starts, ends),
                            not cancelled,
                        )
                    )
                if key:
                    out["session_bookings"].append(
                        (
                            new_id(rng, scheduled_at),
                            sid,
                            None,
                            key,
                            Range(starts, ends),
                            not cancelled,
                        )
                    )
                ev = out["session_events"]
                ev.append(
                    (
                        new_id(rng, scheduled_at),
                        sid,
                        "scheduled",
                        ts(scheduled_at),
                        "user",
                        a_user,
                        a_name,
                        None,
                        None,
                        None,
                        "{}",
                    )
                )
                if done:
                    ev.append(
                        (
                            new_id(rng, done.timestamp()),
                            sid,
                            "outcome_recorded",
                            done,
                            "user",
                            a_user,
                            a_name,
                            None,
                            None,
                            None,
                            "{}",
                        )
                    )
                if cancelled_at:
                    ev.append(
                        (
                            new_id(rng, cancelled_at.timestamp()),
                            sid,
                            "cancelled",
                            cancelled_at,
                            "user",
                            a_user,
                            a_name,
                            None,
                            None,
                            "当事人临时有事。",
                            "{}",
                        )
                    )
        return await _copy(conn, out)
    finally:
        await conn.close()


# --- loading ------------------------------------------------------------------------------
# Timelines, as mediation.timeline numbers them: (entries, their record's table, index of the
# entry's kind and of its time in a row, the kind that comes first). Rows are made without
# the numbers; they are added here, where a record and all its entries are in one batch.
TIMELINES = {
    "case_events": ("cases", 2, 3, "created"),
    "session_events": ("mediation_sessions", 2, 3, "scheduled"),
    "hotline_call_events": ("hotline_calls", 3, 2, "created"),
}
for _events, (_records, *_) in TIMELINES.items():
    COLUMNS[_events] = [*COLUMNS[_events], "seq"]
    COLUMNS[_records] = [*COLUMNS[_records], "timeline_seq"]


def _numbered(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """Each entry with its number within its record (the first kind first, then by time),
    each record with its last number."""
    out = dict(rows)
    for events, (records, kind, at, first) in TIMELINES.items():
        by_owner: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows.get(events, []):
            by_owner[row[1]].append(row)
        numbered, last = [], {}
        for owner, entries in by_owner.items():
            entries.sort(key=lambda r: (r[kind] != first, r[at], r[0]))
            numbered += [(*r, n) for n, r in enumerate(entries, 1)]
            last[owner] = len(entries)
        if events in rows:
            out[events] = numbered
        if records in rows:
            out[records] = [(*r, last.get(r[0], 0)) for r in rows[records]]
    return out


async def _copy(conn: asyncpg.Connection, rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    counts = {}
    for table, records in _numbered(rows).items():
        if records:
            await conn.copy_records_to_table(table, records=records, columns=COLUMNS[table])
            counts[table] = len(records)
    return counts


async def _load_slice(url: str, kind: str, start: int, stop: int) -> dict[str, int]:
    w = WORLD
    assert w is not None
    rng = random.Random(f"{w.seed}:{kind}:{start}")
    conn = await asyncpg.connect(url)
    totals: dict[str, int] = defaultdict(int)
    try:
        await conn.execute("SET session_replication_role = replica; SET synchronous_commit = off")
        maker: CaseMaker | CallMaker = CaseMaker(w, rng) if kind == "cases" else CallMaker(w, rng)
        for lo in range(start, stop, BATCH):
            for i in range(lo, min(stop, lo + BATCH)):
                maker.make(i)
            for table, n in (await _copy(conn, maker.rows)).items():
                totals[table] += n
            maker.rows.clear()
    finally:
        await conn.close()
    return dict(totals)


def _job(args: tuple[str, str, int, int]) -> dict[str, int]:
    return asyncio.run(_load_slice(*args))


async def _indexes(conn: asyncpg.Connection, tables: list[str]) -> list[dict[str, Any]]:
    """Secondary indexes and unreferenced primary/unique constraints of `tables`."""
    rows = await conn.fetch(
        """
        SELECT t.relname AS table, i.relname AS index, pg_get_indexdef(i.oid) AS indexdef,
               con.conname, pg_get_constraintdef(con.oid) AS condef,
               EXISTS (SELECT 1 FROM pg_constraint f
                       WHERE f.contype = 'f' AND f.conindid = i.oid) AS referenced,
               pg_relation_size(t.oid) AS size
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.contype IN ('p', 'u', 'x')
        WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace
        """,
        tables,
    )
    return [dict(r) for r in rows if not r["referenced"]]


async def _drop(conn: asyncpg.Connection, idx: list[dict[str, Any]]) -> None:
    for r in idx:
        if r["conname"]:
            await conn.execute(f'ALTER TABLE "{r["table"]}" DROP CONSTRAINT "{r["conname"]}"')
        else:
            await conn.execute(f'DROP INDEX "{r["index"]}"')


async def _rebuild(url: str, idx: list[dict[str, Any]], jobs: int) -> None:
    """Rebuilds on `jobs` connections at once, the biggest (GIN trigram) first."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for r in sorted(idx, key=lambda r: ("gin" not in r["indexdef"], -r["size"])):
        queue.put_nowait(r)

    async def worker() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("SET maintenance_work_mem = '1GB'")
            while not queue.empty():
                r = queue.get_nowait()
                started = time.monotonic()
                if r["conname"]:
                    await conn.execute(
                        f'ALTER TABLE "{r["table"]}" ADD CONSTRAINT "{r["conname"]}" {r["condef"]}'
                    )
                else:
                    await conn.execute(r["indexdef"])
                log(f"  index {r['index']}: {time.monotonic() - started:.1f}s")
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(jobs)))


async def _table_exists(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"public.{name}"))


async def _prepare(
    url: str, scale: Scale, seed: int, end: float, copy: bool = True
) -> tuple[World, dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        rng = random.Random(f"{seed}:tree")
        settings = Settings()
        cal_rows = await conn.fetch(
            "SELECT day, is_working_day, provisional, source, name FROM calendar_days"
        )
        cal = WorkingCalendar(
            {
                r["day"]: DayInfo(
                    r["day"], r["is_working_day"], r["provisional"], r["source"], r["name"]
                )
                for r in cal_rows
            }
        )
        rules = {
            (r["stage"], r["complexity"]): (r["unit"], r["amount"])
            for r in await conn.fetch("SELECT stage, complexity, unit, amount FROM deadline_rules")
        }
        setup_t = end - (365 * YEARS + 60) * DAY
        tree = build_tree(rng, scale.units, setup_t)
        weights = grid_weights(rng, tree)
        staff, info = build_staff(rng, tree, setup_t, weights)
        log(f"tree: {len(tree.ids)} nodes; staff: {len(staff.people)} people")

        # Deadline due times by start day, for every rule in the table.
        due: dict[tuple[int, str, int], tuple[datetime, bool]] = {}
        first, last = local_day(end) - 365 * YEARS - 2, local_day(end) + 2
        for unit, amount in set(rules.values()):
            for d in range(first, last):
                start = datetime(*day_date(d).timetuple()[:3], 12, tzinfo=CENTER_TZ)
                due[(d, unit, amount)] = due_time(start, DeadlineUnit(unit), amount, cal)

        case_times = arrival_times(rng, scale.cases, end, cal, HOUR_WEIGHTS, office=True)
        per_year: dict[int, int] = defaultdict(int)
        seqs = []
        for t in case_times:
            y = (ts(t) + timedelta(hours=8)).year
            per_year[y] += 1
            seqs.append(per_year[y])
        calls = scale.calls if await _table_exists(conn, "hotline_calls") else 0
        call_times = arrival_times(rng, calls, end, cal, CALL_HOUR_WEIGHTS, office=False)
        sessions_table = (
            "mediation_sessions" if await _table_exists(conn, "mediation_sessions") else None
        )

        # The tree, staff and accounts (small: one COPY each, indexes kept).
        now = ts(setup_t)
        world = World(
            seed=seed,
            end=end,
            tree=tree,
            staff=staff,
            grid_cum=list(accumulate(weights)),
            workstations=info["workstations"],
            case_times=case_times,
            case_seqs=seqs,
            call_times=call_times,
            due=due,
            rules=rules,
            hash_key=settings.pii_hash_key.get_secret_value().encode(),
            encryption_keys=settings.encryption_keys.get_secret_value(),
            sessions_table=sessions_table,
        )
        busiest = info["busiest_street"]
        meta = {
            "accounts": staff.accounts,
            "busiest_street": {"name": tree.name[busiest], "path": tree.path[busiest]},
            "levels": {lv: len(ix) for lv, ix in tree.by_level.items()},
            "people": len(staff.people),
            "sessions_table": sessions_table,
        }
        if copy:
            await conn.copy_records_to_table(
                "units",
                records=[
                    (
                        tree.ids[i],
                        tree.seqs[i],
                        tree.ids[tree.parent[i]] if tree.parent[i] >= 0 else None,
                        tree.level[i],
                        tree.code[i],
                        tree.name[i],
                        tree.path[i],
                        True,
                        1,
                        now,
                        now,
                    )
                    for i in range(len(tree.ids))
                ],
                columns=[
                    "id",
                    "seq",
                    "parent_id",
                    "level",
                    "code",
                    "name",
                    "path",
                    "active",
                    "version",
                    "created_at",
                    "updated_at",
                ],
            )
            await conn.execute("SELECT setval('units_seq', $1)", len(tree.ids))
            await conn.copy_records_to_table(
                "people",
                records=staff.people,
                columns=[
                    "id",
                    "name",
                    "phone",
                    "email",
                    "organisation",
                    "qualifications",
                    "notes",
                    "version",
                    "created_at",
                    "updated_at",
                ],
            )
            await conn.copy_records_to_table(
                "role_assignments",
                records=staff.roles,
                columns=[
                    "id",
                    "person_id",
                    "unit_id",
                    "role",
                    "starts_on",
                    "ends_on",
                    "created_at",
                    "updated_at",
                ],
            )
            shared_hash = hash_password(PASSWORD)  # one hash for every account: fast to load
            await conn.copy_records_to_table(
                "users",
                records=[(u[0], u[1], shared_hash, *u[3:]) for u in staff.users],
                columns=[
                    "id",
                    "username",
                    "password_hash",
                    "person_id",
                    "active",
                    "failed_logins",
                    "locked_until",
                    "last_login_at",
                    "version",
                    "created_at",
                    "updated_at",
                ],
            )
        return world, meta
    finally:
        await conn.close()


async def _admin(sql: str, server: str = PG_SERVER) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def read_manifest(database: str, server: str = PG_SERVER) -> dict[str, Any] | None:
    """The manifest of an existing benchmark database (its COMMENT), or None."""
    conn = await asyncpg.connect(server)
    try:
        raw = await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            database,
        )
    finally:
        await conn.close()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def default_end() -> date:
    return datetime.now(CENTER_TZ).date()


def generate(
    scale: Scale,
    database: str,
    *,
    seed: int = 11,
    end: date | None = None,
    jobs: int = 2,
    server: str = PG_SERVER,
    out_dir: Path = OUT_DIR,
) -> dict[str, Any]:
    """Creates `database` from scratch, migrates it and loads the data; returns the manifest."""
    end = end or default_end()
    end_t = datetime(end.year, end.month, end.day, tzinfo=CENTER_TZ).timestamp()
    url = database_url(database, server)
    timings: dict[str, float] = {}
    started = time.monotonic()

    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', server))
    asyncio.run(_admin(f'CREATE DATABASE "{database}"', server))
    upgrade(async_url(url))
    timings["migrate"] = time.monotonic() - started

    global WORLD
    mark = time.monotonic()
    WORLD, meta = asyncio.run(_prepare(url, scale, seed, end_t))
    timings["tree_staff"] = time.monotonic() - mark

    async def drop() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            idx = await _indexes(conn, BULK_TABLES)
            await _drop(conn, idx)
            return idx
        finally:
            await conn.close()

    idx = asyncio.run(drop())
    mark = time.monotonic()
    work = [
        ("cases", lo, min(scale.cases, lo + SLICE_CASES))
        for lo in range(0, scale.cases, SLICE_CASES)
    ]
    calls = len(WORLD.call_times)
    work += [("calls", lo, min(calls, lo + SLICE_CALLS)) for lo in range(0, calls, SLICE_CALLS)]
    totals: dict[str, int] = defaultdict(int)
    log(f"loading {scale.cases} cases and {calls} hotline calls with {jobs} processes")
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
        for k, counts in enumerate(pool.map(_job, [(url, *w) for w in work]), 1):
            for table, n in counts.items():
                totals[table] += n
            if k % max(1, len(work) // 10) == 0 or k == len(work):
                log(f"  {k}/{len(work)} slices, {time.monotonic() - mark:.0f}s")
    timings["load"] = time.monotonic() - mark

    mark = time.monotonic()
    later = [r for r in idx if r["table"] in SESSION_TABLES]
    now_idx = [r for r in idx if r["table"] not in SESSION_TABLES]
    log(f"rebuilding {len(now_idx)} indexes and constraints")
    asyncio.run(_rebuild(url, now_idx, jobs))
    timings["indexes"] = time.monotonic() - mark

    if WORLD.sessions_table and scale.sessions:
        mark = time.monotonic()
        log(f"loading about {scale.sessions} mediation sessions")
        for table, n in asyncio.run(_load_sessions(url, WORLD, scale.sessions)).items():
            totals[table] += n
        asyncio.run(_rebuild(url, later, jobs))
        timings["sessions"] = time.monotonic() - mark

    async def finish() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "INSERT INTO case_number_counters (district_id, year, last_value) "
                "SELECT district_id, year, max(seq) FROM cases GROUP BY district_id, year"
            )
            await conn.execute("VACUUM (ANALYZE)")
        finally:
            await conn.close()

    mark = time.monotonic()
    asyncio.run(finish())
    timings["vacuum_analyze"] = time.monotonic() - mark
    timings["total"] = time.monotonic() - started

    async def size() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
        finally:
            await conn.close()

    manifest = {
        "scale": scale.as_dict(),
        "seed": seed,
        "end": end.isoformat(),
        "rows": {"units": len(WORLD.tree.ids), "people": meta["people"], **dict(totals)},
        "sessions": "loaded"
        if WORLD.sessions_table
        else "skipped: no sessions table in the schema",
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "database_bytes": asyncio.run(size()),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
    }
    comment = json.dumps(manifest, ensure_ascii=False).replace("'", "''")
    asyncio.run(_admin(f"COMMENT ON DATABASE \"{database}\" IS '{comment}'", server))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{database}.manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2)
    )
    WORLD = None
    return manifest


def reload_sessions(
    database: str, *, jobs: int = 2, server: str = PG_SERVER, out_dir: Path = OUT_DIR
) -> dict[str, Any]:
    """Makes the mediation sessions of an existing benchmark database again (what a full run
    of this generator would make: the world is rebuilt from the manifest's scale, seed and
    end date, the sessions from the cases in the database)."""
    global WORLD
    manifest = asyncio.run(read_manifest(database, server))
    if not manifest:
        raise SystemExit(f"{database} has no manifest: generate it first")
    scale = SCALES[manifest["scale"]["name"]]
    end = date.fromisoformat(manifest["end"])
    end_t = datetime(end.year, end.month, end.day, tzinfo=CENTER_TZ).timestamp()
    url = database_url(database, server)
    started = time.monotonic()
    WORLD, _ = asyncio.run(_prepare(url, scale, manifest["seed"], end_t, copy=False))

    async def reset() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            idx = await _indexes(conn, SESSION_TABLES)
            await _drop(conn, idx)
            await conn.execute(f"TRUNCATE {', '.join(SESSION_TABLES)}")
            return idx
        finally:
            await conn.close()

    idx = asyncio.run(reset())
    counts = asyncio.run(_load_sessions(url, WORLD, scale.sessions))
    asyncio.run(_rebuild(url, idx, jobs))
    asyncio.run(_admin(f"VACUUM (ANALYZE) {', '.join(SESSION_TABLES)}", url))
    manifest["rows"].update(counts)
    manifest["timings_s"]["sessions"] = round(time.monotonic() - started, 1)
    comment = json.dumps(manifest, ensure_ascii=False).replace("'", "''")
    asyncio.run(_admin(f"COMMENT ON DATABASE \"{database}\" IS '{comment}'", server))
    (out_dir / f"{database}.manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2)
    )
    WORLD = None
    return manifest


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", choices=sorted(SCALES), default="small")
    p.add_argument("--database", default=None, help="default: mediation_bench_<scale>")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--end", type=date.fromisoformat, default=None, help="last day (default today)")
    p.add_argument("--jobs", type=int, default=2, help="loading processes")
    p.add_argument("--server", default=PG_SERVER)
    p.add_argument(
        "--sessions-only",
        action="store_true",
        help="make the sessions of an existing database again (keeps everything else)",
    )
    a = p.parse_args(argv)
    if a.sessions_only:
        manifest = reload_sessions(
            a.database or f"mediation_bench_{a.scale}", jobs=a.jobs, server=a.server
        )
        log(json.dumps({k: manifest["rows"][k] for k in SESSION_TABLES if k in manifest["rows"]}))
        return
    manifest = generate(
        SCALES[a.scale],
        a.database or f"mediation_bench_{a.scale}",
        seed=a.seed,
        end=a.end,
        jobs=a.jobs,
        server=a.server,
    )
    log(json.dumps({k: manifest[k] for k in ("rows", "timings_s", "database_bytes")}))
    if manifest["sessions"] != "loaded":
        log("sessions " + manifest["sessions"])


if __name__ == "__main__":
    main()
