"""The monthly statistics as two SQL statements, `INSERT ... SELECT`, so no record ever travels
to Python.

1. Facts. Every record that did something in the month, or in one of the two periods it is
   compared with (the month before, the same month a year before), gives one row per period:
   its node, its mediation channels, and numbers (1 if received in the period, the
   agreement's amount if resolved in it, ...). Families of records are branches of a UNION
   ALL: cases, missed deadlines, follow-up visits, mediation sessions, hotline calls,
   outreach activities, micro-classes. Every base table is filtered with the periods' bounds
   as parameters (custom plans: the planner knows them), so the time indexes find the
   periods' records without reading the others.
2. Leaves. Each branch sums its facts per node and set of channels (`GROUP BY unit_id,
   channels`), only its own figures (the others NULL): the month's in their columns, the
   comparison periods' dozen trend figures in `p1_*` / `p2_*`.
3. Channels. Each leaf row is repeated for `all` and for each of its channels, so a joint
   mediation counts once in `all` and once in each channel.
4. The tree. The node's path ("1.17.342.") is split into its levels l1..l7 (0 below its
   depth). The sums go up one level at a time (t7 .. t1): level k adds the level k+1 sums to
   the rows placed at level k, grouped by the level-k node. Each node's row counts its whole
   subtree; a row is added once per level it passes, where a ROLLUP over all seven levels
   added every leaf row to eight grouping sets.
5. Days to resolution: their median and mean need every value, not sums, so the month's
   resolved cases alone go through a ROLLUP(l1..l7) (PostgreSQL computes ordered-set
   aggregates inside grouping sets: the median of a street is the median over its
   communities' cases, not a median of medians).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from mediation.cases.enums import CaseSource, IntakeMode, PreventionKind
from mediation.org.enums import UnitLevel
from mediation.stats.balances import COUNTS as BALANCE_COUNTS

DEPTH = len(UnitLevel)  # city > district > street > community > grid > building > unit

# Record families counted besides cases.
SOURCES: frozenset[str] = frozenset({"hotline", "outreach", "sessions"})

# Figures summed from the facts, with the SQL type of their zero.
INT_FIGURES: tuple[str, ...] = (
    "received",
    "accepted",
    "resolved",
    "failed",
    "withdrawn",
    "intake_proactive",
    "intake_application",
    "intake_referral",
    "agreements",
    "agreements_performed",
    "overdue",
    *(f"prevented_{k.value}_{what}" for k in PreventionKind for what in ("cases", "people")),
    "prevented_cases",
    "prevented_people",
    "follow_ups",
    "sessions_held",
    "hotline_calls",
    "hotline_valid_calls",
    "hotline_risk_none",
    "hotline_risk_low",
    "hotline_risk_medium",
    "hotline_risk_high",
    "hotline_risk_unassessed",
    "hotline_high_risk",
    "hotline_follow_ups",
    "outreach_activities",
    "outreach_participants",
    "micro_classes",
    "micro_class_participants",
    "opening_balances",
)
AMOUNT = "agreement_amount"
DAYS = "resolution_days"

# What `previous_month` / `previous_year` hold (TrendIndicator, less the derived rate).
TREND: tuple[str, ...] = (
    "received",
    "accepted",
    "resolved",
    "failed",
    AMOUNT,
    "overdue",
    "prevented_cases",
    "sessions_held",
    "hotline_calls",
    "hotline_high_risk",
    "outreach_activities",
    "outreach_participants",
)

PERIODS = ("cur", "pm", "py")  # the month, the month before, the same month a year before
CURRENT = ("cur",)
COMPARED = ("pm", "py")


def _sources_of(mode: IntakeMode) -> str:
    return ", ".join(f"'{s.value}'" for s in CaseSource if s.intake_mode is mode)


def _range(column: str, period: str, dates: bool = False) -> str:
    """`column` in one period, with the bounds as parameters: the planner sees their values
    (custom plans), estimates the rows and uses the time indexes."""
    kind, s, e = ("date", "ds", "de") if dates else ("timestamptz", "s", "e")
    return (
        f"({column} >= CAST(:{period}_{s} AS {kind}) AND {column} < CAST(:{period}_{e} AS {kind}))"
    )


def _in(column: str, period: str, dates: bool = False) -> str:
    # coalesce: a step not taken (NULL time) is "not in the period", never NULL.
    return f"coalesce({_range(column, period, dates)}, false)"


def _any(columns: Iterable[str], periods: Iterable[str], dates: bool = False) -> str:
    """Any of the columns in any of the periods: the filter on the base table."""
    return "(" + " OR ".join(_range(c, p, dates) for c in columns for p in periods) + ")"


def _period_of(column: str, periods: tuple[str, ...], dates: bool = False) -> str:
    """The period (0 the month, 1 the month before, 2 a year before) a time falls in, among
    `periods` (the periods never overlap; the base table's filter keeps only those)."""
    if len(periods) == 1:
        return str(PERIODS.index(periods[0]))
    whens = " ".join(f"WHEN {_range(column, p, dates)} THEN {PERIODS.index(p)}" for p in periods)
    return f"CASE {whens} END"


@dataclass(frozen=True)
class Branch:
    """One family of facts over some periods: `fact_from(periods)` is the FROM ... WHERE of
    its rows (aliases for `unit`, `channels` and `period` come from the branch), `figures`
    the numbers each row adds (SQL over the row's columns; absent figures add nothing)."""

    name: str
    unit: str
    from_: str
    period: str
    figures: dict[str, str]
    periods: tuple[str, ...]
    channels: str | None = None  # the case's channels; other families count in `all` only


# --------------------------------------------------------------------------- the branches
_STEPS = {
    "r": "c.received_at",
    "a": "c.accepted_at",
    "s": "c.resolved_at",
    "f": "c.failed_at",
    "w": "c.withdrawn_at",
}


def _step(flag: str, column: str, period: str) -> str:
    """A step taken in the period. A case resolved, reopened and failed (or failed, reopened
    and resolved) in the same period ended once, the later way (`lifecycle.outcome`): the
    earlier outcome does not count, or the case would be both resolved and failed."""
    out = _in(column, period)
    if flag == "s":
        out += f" AND NOT ({_in('c.failed_at', period)} AND c.failed_at > c.resolved_at)"
    elif flag == "f":
        out += f" AND NOT ({_in('c.resolved_at', period)} AND c.resolved_at >= c.failed_at)"
    return f"({out})"


def _case_branch(periods: tuple[str, ...]) -> Branch:
    """Cases with a step in a period. `x` holds the step flags of that period: one row per
    case and period it did something in."""
    r, s = "x.r = 1", "x.s = 1"
    fig = {
        "received": "x.r",
        "accepted": "x.a",
        "resolved": "x.s",
        "failed": "x.f",
        "withdrawn": "x.w",
        "agreements": f"CASE WHEN {s} AND ag.case_id IS NOT NULL THEN 1 ELSE 0 END",
        "agreements_performed": f"CASE WHEN {s} AND ag.performance_status = 'full' "
        "THEN 1 ELSE 0 END",
        AMOUNT: f"CASE WHEN {s} THEN coalesce(ag.amount, 0) ELSE 0 END",
        # A prevention flag counts when the dispute it could have turned into was resolved.
        "prevented_cases": f"CASE WHEN {s} AND num_nonnulls(c.prevent_criminal, "
        "c.prevent_group_petition, c.prevent_suicide, c.prevent_group_fight) > 0 "
        "THEN 1 ELSE 0 END",
        "prevented_people": f"CASE WHEN {s} THEN coalesce(c.prevent_criminal, 0) "
        "+ coalesce(c.prevent_group_petition, 0) + coalesce(c.prevent_suicide, 0) "
        "+ coalesce(c.prevent_group_fight, 0) ELSE 0 END",
    }
    for mode in IntakeMode:
        fig[f"intake_{mode.value}"] = (
            f"CASE WHEN {r} AND c.source IN ({_sources_of(mode)}) THEN 1 ELSE 0 END"
        )
    for kind in PreventionKind:
        col = f"c.prevent_{kind.value}"
        fig[f"prevented_{kind.value}_cases"] = (
            f"CASE WHEN {s} AND {col} IS NOT NULL THEN 1 ELSE 0 END"
        )
        fig[f"prevented_{kind.value}_people"] = f"CASE WHEN {s} THEN coalesce({col}, 0) ELSE 0 END"
    # One row of step flags per period the case did something in.
    windows = " UNION ALL ".join(
        f"SELECT {PERIODS.index(p)} AS period, "
        + ", ".join(f"{_step(flag, col, p)}::int AS {flag}" for flag, col in _STEPS.items())
        for p in periods
    )
    any_step = " + ".join(f"x.{flag}" for flag in _STEPS)
    # The agreement is looked up (by its unique case_id) only for a case resolved in the
    # period: a join would read all the agreements of every year.
    from_ = f"""cases c
    CROSS JOIN LATERAL ({windows}) x
    LEFT JOIN LATERAL (
      SELECT a.case_id, a.amount, a.performance_status FROM case_agreements a
      WHERE a.case_id = c.id AND x.s = 1 OFFSET 0
    ) ag ON true
    WHERE {_any(_STEPS.values(), periods)} AND {any_step} > 0"""
    return Branch("cases", "c.unit_id", from_, "x.period", fig, periods, "c.channels::text[]")


def _overdue_branch(periods: tuple[str, ...]) -> Branch:
    """Cases with a deadline that fell due in the period and was missed: still not met when
    computed (or met late), not cancelled before it fell due, not paused at the time."""
    from_ = f"""(
        SELECT DISTINCT d.case_id, {_period_of("d.due_at", periods)} AS period
        FROM case_deadlines d
        WHERE {_any(["d.due_at"], periods)} AND d.due_at < CAST(:now AS timestamptz)
          AND (d.met_at IS NULL OR d.met_at > d.due_at)
          AND (d.cancelled_at IS NULL OR d.cancelled_at > d.due_at)
          AND (d.paused_since IS NULL OR d.paused_since > d.due_at)
    ) o
    JOIN cases c ON c.id = o.case_id"""
    return Branch(
        "overdue", "c.unit_id", from_, "o.period", {"overdue": "1"}, periods, "c.channels::text[]"
    )


def _follow_up_branch(periods: tuple[str, ...]) -> Branch:
    """Follow-up visits (回访) made in the month, at the case's node (no trend figure)."""
    from_ = f"""case_follow_ups fu
    JOIN cases c ON c.id = fu.case_id
    WHERE {_any(["fu.visited_at"], periods)}"""
    period = _period_of("fu.visited_at", periods)
    return Branch(
        "follow_ups", "c.unit_id", from_, period, {"follow_ups": "1"}, periods, "c.channels::text[]"
    )


def _session_branch(periods: tuple[str, ...]) -> Branch:
    """Mediation sessions held (outcome recorded) that were planned in the period, counted
    like their case: at its node, in its channels."""
    from_ = f"""mediation_sessions ms
    JOIN cases c ON c.id = ms.case_id
    WHERE ms.status = 'held' AND {_any(["ms.starts_at"], periods)}"""
    period = _period_of("ms.starts_at", periods)
    return Branch(
        "sessions",
        "c.unit_id",
        from_,
        period,
        {"sessions_held": "1"},
        periods,
        "c.channels::text[]",
    )


def _hotline_branch(periods: tuple[str, ...]) -> Branch:
    """Calls taken in the period (at the workstation's node) and follow-ups done in it: one
    row per call and period it did something in."""
    windows = " UNION ALL ".join(
        f"SELECT {PERIODS.index(p)} AS period, {_in('h.started_at', p)} AS started, "
        f"{_in('h.follow_up_done_at', p)} AS followed"
        for p in periods
    )
    started = "x.started"
    fig = {
        "hotline_calls": f"{started}::int",
        "hotline_valid_calls": f"({started} AND h.call_type = 'valid')::int",
        "hotline_risk_unassessed": f"({started} AND h.risk_level IS NULL)::int",
        # High risk as the hotline rules flag it: level high, or imminent risk.
        "hotline_high_risk": f"({started} AND coalesce(h.risk_level = 'high' OR h.imminent_risk, "
        "false))::int",
        "hotline_follow_ups": "x.followed::int",
    }
    for level in ("none", "low", "medium", "high"):
        fig[f"hotline_risk_{level}"] = (
            f"({started} AND coalesce(h.risk_level = '{level}', false))::int"
        )
    from_ = f"""hotline_calls h
    CROSS JOIN LATERAL ({windows}) x
    WHERE {_any(["h.started_at", "h.follow_up_done_at"], periods)} AND (x.started OR x.followed)"""
    return Branch("hotline", "h.unit_id", from_, "x.period", fig, periods)


def _activity_branch(periods: tuple[str, ...]) -> Branch:
    """Legal-awareness activities, on the Beijing day they were held."""
    from_ = f"""outreach_activities oa
    WHERE {_any(["oa.held_on"], periods, dates=True)}"""
    return Branch(
        "activities",
        "oa.unit_id",
        from_,
        _period_of("oa.held_on", periods, dates=True),
        {"outreach_activities": "1", "outreach_participants": "oa.participants"},
        periods,
    )


def _class_branch(periods: tuple[str, ...]) -> Branch:
    """Micro-classes held in the period, where their series sits."""
    from_ = f"""outreach_classes mc
    WHERE {_any(["mc.held_at"], periods)}"""
    return Branch(
        "classes",
        "mc.unit_id",
        from_,
        _period_of("mc.held_at", periods),
        {"micro_classes": "1", "micro_class_participants": "mc.participants"},
        periods,
    )


def _balance_branch(periods: tuple[str, ...]) -> Branch:
    """Opening balances: the totals of a unit's month kept only as totals, added to its
    figures (channel `all`); `opening_balances` counts them so reports say so."""
    from_ = f"""opening_balances ob
    WHERE {_any(["ob.month_start"], periods, dates=True)}"""
    figures = {name: f"ob.{name}" for name in BALANCE_COUNTS}
    return Branch(
        "opening_balances",
        "ob.unit_id",
        from_,
        _period_of("ob.month_start", periods, dates=True),
        {**figures, "opening_balances": "1"},
        periods,
    )


def _branches(sources: frozenset[str], periods: tuple[str, ...]) -> list[Branch]:
    out = [_case_branch(periods), _overdue_branch(periods), _balance_branch(periods)]
    if periods == CURRENT:  # visits are counted in the month only
        out.append(_follow_up_branch(periods))
    if "sessions" in sources:
        out.append(_session_branch(periods))
    if "hotline" in sources:
        out.append(_hotline_branch(periods))
    if "outreach" in sources:
        out += [_activity_branch(periods), _class_branch(periods)]
    return out


# --------------------------------------------------------------------------- summing
Column = tuple[str, str, int]  # (output name, figure, period: 0 the month, 1 and 2 compared)


def _columns() -> list[Column]:
    """What the tree sums: the month's figures, and the trend figures of the two comparison
    periods (`p1_received`, `p2_received`...)."""
    out: list[Column] = [(n, n, 0) for n in (*INT_FIGURES, AMOUNT)]
    out += [(f"p{p}_{n}", n, p) for p in (1, 2) for n in TREND]
    return out


def _cast(figure: str) -> str:
    # A node's counts fit an int, whose sums are the cheapest to add up the tree.
    return "numeric" if figure == AMOUNT else "int"


def _leaf(branch: Branch, columns: list[Column]) -> str:
    """A branch's facts summed per node and channels: each column is the sum of its figure
    over the facts of its period, NULL when the branch has no such figure or period."""
    out = [f"{branch.unit} AS unit_id", f"{branch.channels or 'ARRAY[]::text[]'} AS channels"]
    mine = [PERIODS.index(p) for p in branch.periods]
    for name, figure, period in columns:
        value = branch.figures.get(figure)
        cast = _cast(figure)
        if value is None or period not in mine:
            out.append(f"CAST(NULL AS {cast}) AS {name}")
        elif len(mine) == 1:
            out.append(f"sum({value})::{cast} AS {name}")
        else:
            out.append(
                f"(sum({value}) FILTER (WHERE {branch.period} = {period}))::{cast} AS {name}"
            )
    group = f"{branch.unit}" + (f", {branch.channels}" if branch.channels else "")
    return "SELECT " + ",\n      ".join(out) + f"\n    FROM {branch.from_}\n    GROUP BY {group}"


def _levels(path: str) -> str:
    return ", ".join(
        f"NULLIF(split_part({path}, '.', {k}), '')::bigint AS l{k}" for k in range(1, DEPTH + 1)
    )


def _node() -> str:
    """The node of a ROLLUP group: its deepest grouped level (NULL for a repeated group)."""
    levels = ", ".join(f"l{k}" for k in range(1, DEPTH + 1))
    whens = " ".join(f"WHEN {(1 << (DEPTH - k)) - 1} THEN l{k}" for k in range(DEPTH, 0, -1))
    return f"CASE GROUPING({levels}) {whens} END"


def _rollup() -> str:
    return "ROLLUP(" + ", ".join(f"l{k}" for k in range(1, DEPTH + 1)) + ")"


def _exploded(leaves: str, columns: str, levels: str | None = None) -> str:
    """Leaf rows (unit_id, channels, ...) with their node's levels, once for `all` and once
    per channel."""
    return f"""SELECT {levels or _levels("u.path")}, ch, {columns}
    FROM ({leaves}) lf
    JOIN units u ON u.id = lf.unit_id
    CROSS JOIN LATERAL unnest(ARRAY['all']::text[] || lf.channels) AS ch"""


def _keys(path: str) -> str:
    """The levels as 0 instead of NULL below the node's depth (unit numbers start at 1):
    fixed-width, never-NULL grouping keys first in the row are the cheapest to sort."""
    return ", ".join(
        f"coalesce(NULLIF(split_part({path}, '.', {k}), '')::bigint, 0) AS l{k}"
        for k in range(1, DEPTH + 1)
    )


def _level_by_level(columns: list[Column], group: str = "ch") -> str:
    """CTEs t7 .. t1 and `tree`: the leaf rows of `f` summed up the tree one level at a time.
    Level k sums the level k+1 results with the rows placed at level k, so a row is added
    once per level it passes instead of once per grouping set of a ROLLUP over all levels
    (measured: the ROLLUPs of every leaf row were most of the remaining time). `group`: the
    columns grouped besides the node (the channel, and the breakdown's dimension and key)."""
    names = [c[0] for c in columns]
    sums = ", ".join(f"sum({n})::{_cast(f)} AS {n}" for n, f, _ in columns)
    ctes = []
    for k in range(DEPTH, 0, -1):
        keys = ", ".join(f"l{i}" for i in range(1, k + 1))
        here = f"SELECT {keys}, {group}, {', '.join(names)} FROM f WHERE l{k} <> 0" + (
            f" AND l{k + 1} = 0" if k < DEPTH else ""
        )
        below = (
            f"SELECT {keys}, {group}, {', '.join(names)} FROM t{k + 1}\n    UNION ALL\n    "
            if k < DEPTH
            else ""
        )
        ctes.append(
            f"t{k} AS (\n  SELECT {keys}, {group}, {sums}\n  FROM (\n    {below}{here}\n  ) x\n"
            f"  GROUP BY {keys}, {group}\n)"
        )
    tree = "\n  UNION ALL\n  ".join(
        f"SELECT {group}, l{k} AS node, {', '.join(names)} FROM t{k}" for k in range(DEPTH, 0, -1)
    )
    return ",\n".join(ctes) + f",\ntree AS (\n  {tree}\n)"


def _days() -> str:
    """Days from receipt to resolution of the cases resolved in the month: median and mean
    per node and channel. Every value is needed (no sums), so one ROLLUP over those cases
    alone; PostgreSQL computes ordered-set aggregates inside grouping sets."""
    leaves = f"""SELECT c.unit_id, c.channels::text[] AS channels,
      (extract(epoch FROM c.resolved_at - c.received_at) / 86400.0)::float8 AS days
    FROM cases c
    WHERE {_range("c.resolved_at", "cur")} AND {_step("s", "c.resolved_at", "cur")}"""
    return f"""SELECT ch, {_node()} AS node,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS days_median,
    avg(days) AS days_mean
  FROM (
    {_exploded(leaves, "lf.days")}
  ) f
  GROUP BY ch, {_rollup()}
  HAVING {_node()} IS NOT NULL"""


def _trend(period: int) -> str:
    """The trend figures of a comparison period as the columns of a row (`to_jsonb` of it
    is the stored JSON: a third cheaper than jsonb_build_object, same document)."""
    parts = []
    for name in TREND:
        value = f"coalesce(t.p{period}_{name}, 0)"
        if name == AMOUNT:  # exact decimal, as a string
            value = f"({value})::numeric(16, 2)::text"
        parts.append(f"{value} AS {name}")
    return "SELECT " + ", ".join(parts)


@cache
def rows_statement(sources: frozenset[str]) -> str:
    """INSERT of every node's figures for report :report_id: the month's figures and the two
    comparison periods' trend figures summed per node (leaves) then up the tree level by
    level; the days to resolution by their own ROLLUP(l1, ..., l7)."""
    columns = _columns()
    names = [c[0] for c in columns]
    leaves = "\n  UNION ALL\n  ".join(
        [
            *(_leaf(b, columns) for b in _branches(sources, CURRENT)),
            *(_leaf(b, columns) for b in _branches(sources, COMPARED)),
        ]
    )
    figures = [*INT_FIGURES, AMOUNT]
    values = [
        # Sessions: NULL, not 0, while their domain is not in this database.
        "NULL::bigint"
        if n == "sessions_held" and "sessions" not in sources
        else f"coalesce(t.{n}, 0)"
        for n in figures
    ]
    return f"""
WITH f AS MATERIALIZED (
  {_exploded(leaves, ", ".join(f"lf.{n}" for n in names), _keys("u.path"))}
),
{_level_by_level(columns)},
days AS (
  {_days()}
)
INSERT INTO stats_rows (report_id, unit_id, channel, unit_path, {", ".join(figures)},
  resolution_days_median, resolution_days_mean, previous_month, previous_year)
SELECT CAST(:report_id AS uuid), u.id, t.ch, u.path,
  {", ".join(f"{v} AS {n}" for v, n in zip(values, figures, strict=True))},
  round(days.days_median::numeric, 2), round(days.days_mean::numeric, 2),
  to_jsonb(pm), to_jsonb(py)
FROM tree t
JOIN units u ON u.seq = t.node
LEFT JOIN days ON days.ch = t.ch AND days.node = t.node
CROSS JOIN LATERAL ({_trend(1)}) pm
CROSS JOIN LATERAL ({_trend(2)}) py
"""


_CURRENT = "{col} >= CAST(:cur_s AS timestamptz) AND {col} < CAST(:cur_e AS timestamptz)"


@cache
def breakdowns_statement(sources: frozenset[str]) -> str:
    """INSERT of the month's counts by category and source (cases received) and by topic
    (hotline calls taken), per node and channel, for report :report_id: counted per node
    and channels first, then summed up the tree level by level."""
    branches = [
        f"""SELECT c.unit_id, c.channels::text[] AS channels, d.dim, d.key, count(*) AS n
    FROM cases c
    CROSS JOIN LATERAL (VALUES ('category', c.category_code::text), ('source', c.source::text))
      AS d(dim, key)
    WHERE {_CURRENT.format(col="c.received_at")}
    GROUP BY c.unit_id, c.channels, d.dim, d.key"""
    ]
    # Opening balances' cases by category (channel `all`).
    branches.append(
        f"""SELECT ob.unit_id, ARRAY[]::text[], 'category', kv.key, sum(kv.value::int)::int
    FROM opening_balances ob
    CROSS JOIN LATERAL jsonb_each_text(ob.categories) AS kv(key, value)
    WHERE {_range("ob.month_start", "cur", dates=True)}
    GROUP BY ob.unit_id, kv.key"""
    )
    if "hotline" in sources:
        branches.append(
            f"""SELECT h.unit_id, ARRAY[]::text[], 'hotline_topic', t.topic::text, count(*)::int
    FROM hotline_calls h
    CROSS JOIN LATERAL (SELECT DISTINCT unnest(h.topics)) AS t(topic)
    WHERE {_CURRENT.format(col="h.started_at")}
    GROUP BY h.unit_id, t.topic"""
        )
    union = "\n  UNION ALL\n  ".join(branches)
    columns: list[Column] = [("n", "n", 0)]
    return f"""
WITH f AS MATERIALIZED (
  {_exploded(union, "lf.dim, lf.key, lf.n", _keys("u.path"))}
),
{_level_by_level(columns, "ch, dim, key")}
INSERT INTO stats_breakdowns (report_id, unit_id, channel, dimension, key, count)
SELECT CAST(:report_id AS uuid), u.id, t.ch, t.dim, t.key, t.n
FROM tree t JOIN units u ON u.seq = t.node
"""
