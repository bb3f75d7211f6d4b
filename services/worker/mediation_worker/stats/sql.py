"""The monthly statistics as two SQL statements, `INSERT ... SELECT`, so no record ever travels
to Python.

1. Facts. Every record that did something in one of the three periods (the month, the month
   before, the same month a year before) gives one row per period: its node's path, its
   mediation channels, and numbers (1 if received in the period, the agreement's amount if
   resolved in it, ...). Families of records are branches of one UNION ALL: cases, missed
   deadlines, follow-up visits, hotline calls, outreach activities, micro-classes.
2. Channels. Each fact row is repeated for `all` and for each of its case's channels, so a
   joint mediation counts once in `all` and once in each channel.
3. The tree. The node's path ("1.17.342.") is split into its levels; `GROUP BY ROLLUP(l1..l7)`
   then sums every prefix: each group is one node of the tree with its whole subtree. A
   group whose deepest level is NULL repeats a shallower node and is dropped (HAVING); the
   deepest level's number is the node's `units.seq`.
4. The three periods are told apart by FILTER inside each group: the month's figures go in
   the row's columns, the two others' trend figures in `previous_month` / `previous_year`.
5. Every base table is filtered with the periods' bounds as parameters (custom plans: the
   planner knows them), so the time indexes serve where they exist.

Medians are ordered-set aggregates, which PostgreSQL computes inside grouping sets, so the
median of a street is the median over its communities' cases, not a median of medians.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from mediation.cases.enums import CaseSource, IntakeMode, PreventionKind
from mediation.org.enums import UnitLevel

DEPTH = len(UnitLevel)  # city > district > street > community > grid > building > unit

# Sources counted besides cases, each present when its table exists (its domain migrated).
OPTIONAL_TABLES: dict[str, tuple[str, ...]] = {
    "hotline": ("hotline_calls",),
    "outreach": ("outreach_activities", "outreach_classes"),
    "sessions": ("mediation_sessions",),
}

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


def _in(column: str, window: str = "w") -> str:
    # coalesce: a step not taken (NULL time) is "not in the period", never NULL.
    return f"coalesce({column} >= {window}.s AND {column} < {window}.e, false)"


def _sources_of(mode: IntakeMode) -> str:
    return ", ".join(f"'{s.value}'" for s in CaseSource if s.intake_mode is mode)


PERIODS = ("cur", "pm", "py")  # the month, the month before, the same month a year before


def _range(column: str, period: str, dates: bool = False) -> str:
    """`column` in one period, with the bounds as parameters: the planner sees their values
    (custom plans), estimates the rows and uses the time indexes."""
    kind, s, e = ("date", "ds", "de") if dates else ("timestamptz", "s", "e")
    return (
        f"({column} >= CAST(:{period}_{s} AS {kind}) AND {column} < CAST(:{period}_{e} AS {kind}))"
    )


def _any(*columns: str, dates: bool = False) -> str:
    """Any of the columns in any of the periods: the filter on the base table."""
    return "(" + " OR ".join(_range(c, p, dates) for c in columns for p in PERIODS) + ")"


def _period_of(column: str, dates: bool = False) -> str:
    """The period a time falls in (the periods never overlap)."""
    return (
        f"CASE WHEN {_range(column, 'cur', dates)} THEN 0 "
        f"WHEN {_range(column, 'pm', dates)} THEN 1 ELSE 2 END"
    )


def _case_branch() -> dict[str, str]:
    """Cases with a step in the period. `x` holds the step flags of the period."""
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
        DAYS: f"CASE WHEN {s} THEN extract(epoch FROM c.resolved_at - c.received_at) / 86400.0 END",
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
    steps = {
        "r": "c.received_at",
        "a": "c.accepted_at",
        "s": "c.resolved_at",
        "f": "c.failed_at",
        "w": "c.withdrawn_at",
    }
    flags = ", ".join(f"{_in(col)}::int AS {flag}" for flag, col in steps.items())
    any_step = " + ".join(f"x.{flag}" for flag in steps)
    from_ = f"""cases c
    CROSS JOIN LATERAL (SELECT w.period, {flags} FROM win w) x
    JOIN units u ON u.id = c.unit_id
    LEFT JOIN case_agreements ag ON ag.case_id = c.id
    WHERE {_any(*steps.values())} AND {any_step} > 0"""
    return {
        "_from": from_,
        "_path": "u.path",
        "_channels": "c.channels::text[]",
        "_period": "x.period",
        **fig,
    }


def _overdue_branch() -> dict[str, str]:
    """Cases with a deadline that fell due in the period and was missed: still not met when
    computed (or met late), not cancelled before it fell due, not paused at the time."""
    from_ = f"""(
        SELECT DISTINCT d.case_id, {_period_of("d.due_at")} AS period
        FROM case_deadlines d
        WHERE {_any("d.due_at")} AND d.due_at < CAST(:now AS timestamptz)
          AND (d.met_at IS NULL OR d.met_at > d.due_at)
          AND (d.cancelled_at IS NULL OR d.cancelled_at > d.due_at)
          AND (d.paused_since IS NULL OR d.paused_since > d.due_at)
    ) o
    JOIN cases c ON c.id = o.case_id
    JOIN units u ON u.id = c.unit_id"""
    return {
        "_from": from_,
        "_path": "u.path",
        "_channels": "c.channels::text[]",
        "_period": "o.period",
        "overdue": "1",
    }


def _follow_up_branch() -> dict[str, str]:
    """Follow-up visits (回访) made in the month, at the case's node."""
    from_ = f"""case_follow_ups fu
    JOIN cases c ON c.id = fu.case_id
    JOIN units u ON u.id = c.unit_id
    WHERE {_range("fu.visited_at", "cur")}"""
    return {
        "_from": from_,
        "_path": "u.path",
        "_channels": "c.channels::text[]",
        "_period": "0",
        "follow_ups": "1",
    }


def _session_branch() -> dict[str, str]:
    """Mediation sessions held (outcome recorded) that were planned in the period, counted
    like their case: at its node, in its channels."""
    from_ = f"""mediation_sessions ms
    JOIN cases c ON c.id = ms.case_id
    JOIN units u ON u.id = c.unit_id
    WHERE ms.status = 'held' AND {_any("ms.starts_at")}"""
    return {
        "_from": from_,
        "_path": "u.path",
        "_channels": "c.channels::text[]",
        "_period": _period_of("ms.starts_at"),
        "sessions_held": "1",
    }


def _hotline_branch() -> dict[str, str]:
    """Calls taken in the period (at the workstation's node) and follow-ups done in it."""
    started = _in("h.started_at")
    fig = {
        "hotline_calls": f"{started}::int",
        "hotline_valid_calls": f"({started} AND h.call_type = 'valid')::int",
        "hotline_risk_unassessed": f"({started} AND h.risk_level IS NULL)::int",
        # High risk as the hotline rules flag it: level high, or imminent risk.
        "hotline_high_risk": f"({started} AND coalesce(h.risk_level = 'high' OR h.imminent_risk, "
        "false))::int",
        "hotline_follow_ups": f"{_in('h.follow_up_done_at')}::int",
    }
    for level in ("none", "low", "medium", "high"):
        fig[f"hotline_risk_{level}"] = (
            f"({started} AND coalesce(h.risk_level = '{level}', false))::int"
        )
    from_ = f"""hotline_calls h
    JOIN win w ON {started} OR {_in("h.follow_up_done_at")}
    JOIN units u ON u.id = h.unit_id
    WHERE {_any("h.started_at", "h.follow_up_done_at")}"""
    return {"_from": from_, "_path": "u.path", **fig}


def _activity_branch() -> dict[str, str]:
    """Legal-awareness activities, on the Beijing day they were held."""
    from_ = f"""outreach_activities oa
    JOIN units u ON u.id = oa.unit_id
    WHERE {_any("oa.held_on", dates=True)}"""
    return {
        "_from": from_,
        "_path": "u.path",
        "_period": _period_of("oa.held_on", dates=True),
        "outreach_activities": "1",
        "outreach_participants": "oa.participants",
    }


def _class_branch() -> dict[str, str]:
    """Micro-classes held in the period, where their series sits."""
    from_ = f"""outreach_classes mc
    JOIN units u ON u.id = mc.unit_id
    WHERE {_any("mc.held_at")}"""
    return {
        "_from": from_,
        "_path": "u.path",
        "_period": _period_of("mc.held_at"),
        "micro_classes": "1",
        "micro_class_participants": "mc.participants",
    }


def _branches(sources: frozenset[str]) -> list[dict[str, str]]:
    out = [_case_branch(), _overdue_branch(), _follow_up_branch()]
    if "sessions" in sources:
        out.append(_session_branch())
    if "hotline" in sources:
        out.append(_hotline_branch())
    if "outreach" in sources:
        out += [_activity_branch(), _class_branch()]
    return out


def _select(branch: dict[str, str]) -> str:
    cols = [
        f"{branch['_path']} AS path",
        f"{branch.get('_channels', 'ARRAY[]::text[]')} AS channels",
        f"{branch.get('_period', 'w.period')} AS period",
    ]
    cols += [f"({branch.get(name, '0')})::int AS {name}" for name in INT_FIGURES]
    cols.append(f"({branch.get(AMOUNT, '0')})::numeric AS {AMOUNT}")
    cols.append(f"({branch.get(DAYS, 'NULL')})::float8 AS {DAYS}")
    return "SELECT " + ",\n      ".join(cols) + f"\n    FROM {branch['_from']}"


def _levels() -> str:
    return ", ".join(
        f"NULLIF(split_part(b.path, '.', {k}), '')::bigint AS l{k}" for k in range(1, DEPTH + 1)
    )


def _node() -> str:
    """The node of a ROLLUP group: its deepest grouped level (NULL for a repeated group)."""
    levels = ", ".join(f"l{k}" for k in range(1, DEPTH + 1))
    whens = " ".join(f"WHEN {(1 << (DEPTH - k)) - 1} THEN l{k}" for k in range(DEPTH, 0, -1))
    return f"CASE GROUPING({levels}) {whens} END"


def _rollup() -> str:
    return "ROLLUP(" + ", ".join(f"l{k}" for k in range(1, DEPTH + 1)) + ")"


def _windows() -> str:
    rows = ",\n    ".join(
        f"({i}, CAST(:{p}_s AS timestamptz), CAST(:{p}_e AS timestamptz), "
        f"CAST(:{p}_ds AS date), CAST(:{p}_de AS date))"
        for i, p in enumerate(("cur", "pm", "py"))
    )
    return f"win(period, s, e, ds, de) AS (VALUES\n    {rows})"


def _trend_json(period: int) -> str:
    parts = []
    for name in TREND:
        value = f"coalesce(sum({name}) FILTER (WHERE period = {period}), 0)"
        if name == AMOUNT:  # exact decimal, as a string
            value = f"({value})::numeric(16, 2)::text"
        parts.append(f"'{name}', {value}")
    return "jsonb_build_object(" + ", ".join(parts) + ")"


@cache
def rows_statement(sources: frozenset[str]) -> str:
    """INSERT of every node's figures for report :report_id: one ROLLUP, the month's figures
    and the two comparison periods' trend figures side by side (the periods told apart by
    FILTER, so one group per node and channel and no self-join).

    Measured at a million cases against summing level by level (each level from the one
    below): the single sorted ROLLUP was faster, its wide intermediate tables cost more than
    the repeated aggregation saves."""
    union = "\n  UNION ALL\n  ".join(_select(b) for b in _branches(sources))
    node = _node()
    figures = [*INT_FIGURES, AMOUNT]
    sums = ",\n    ".join(
        # Sessions: NULL, not 0, while their domain is not in this database.
        f"NULL::bigint AS {n}"
        if n == "sessions_held" and "sessions" not in sources
        else f"coalesce(sum({n}) FILTER (WHERE period = 0), 0) AS {n}"
        for n in figures
    )
    return f"""
WITH {_windows()},
b AS (
  {union}
),
f AS (
  SELECT ch, b.period, {_levels()},
    {", ".join(f"b.{n}" for n in (*INT_FIGURES, AMOUNT, DAYS))}
  FROM b CROSS JOIN LATERAL unnest(ARRAY['all']::text[] || b.channels) AS ch
),
agg AS (
  SELECT ch, {node} AS node,
    {sums},
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {DAYS}) FILTER (WHERE period = 0) AS days_median,
    avg({DAYS}) FILTER (WHERE period = 0) AS days_mean,
    {_trend_json(1)} AS previous_month,
    {_trend_json(2)} AS previous_year
  FROM f
  GROUP BY ch, {_rollup()}
  HAVING {node} IS NOT NULL
)
INSERT INTO stats_rows (report_id, unit_id, channel, unit_path, {", ".join(figures)},
  resolution_days_median, resolution_days_mean, previous_month, previous_year)
SELECT CAST(:report_id AS uuid), u.id, agg.ch, u.path,
  {", ".join(f"agg.{n}" for n in figures)},
  round(agg.days_median::numeric, 2), round(agg.days_mean::numeric, 2),
  agg.previous_month, agg.previous_year
FROM agg JOIN units u ON u.seq = agg.node
"""


_CURRENT = "{col} >= CAST(:cur_s AS timestamptz) AND {col} < CAST(:cur_e AS timestamptz)"


@cache
def breakdowns_statement(sources: frozenset[str]) -> str:
    """INSERT of the month's counts by category and source (cases received) and by topic
    (hotline calls taken), per node and channel, for report :report_id."""
    branches = [
        f"""SELECT u.path, c.channels::text[] AS channels, d.dim, d.key
    FROM cases c
    JOIN units u ON u.id = c.unit_id
    CROSS JOIN LATERAL (VALUES ('category', c.category_code::text), ('source', c.source::text))
      AS d(dim, key)
    WHERE {_CURRENT.format(col="c.received_at")}"""
    ]
    if "hotline" in sources:
        branches.append(
            f"""SELECT u.path, ARRAY[]::text[], 'hotline_topic', t.topic::text
    FROM hotline_calls h
    JOIN units u ON u.id = h.unit_id
    CROSS JOIN LATERAL (SELECT DISTINCT unnest(h.topics)) AS t(topic)
    WHERE {_CURRENT.format(col="h.started_at")}"""
        )
    union = "\n  UNION ALL\n  ".join(branches)
    node = _node()
    return f"""
WITH b AS (
  {union}
),
f AS (
  SELECT ch, b.dim, b.key, {_levels()}
  FROM b CROSS JOIN LATERAL unnest(ARRAY['all']::text[] || b.channels) AS ch
),
agg AS (
  SELECT ch, dim, key, {node} AS node, count(*) AS n
  FROM f
  GROUP BY ch, dim, key, {_rollup()}
  HAVING {node} IS NOT NULL
)
INSERT INTO stats_breakdowns (report_id, unit_id, channel, dimension, key, count)
SELECT CAST(:report_id AS uuid), u.id, agg.ch, agg.dim, agg.key, agg.n
FROM agg JOIN units u ON u.seq = agg.node
"""


def tables_present_statement(tables: Iterable[str]) -> str:
    return "SELECT " + ", ".join(f"to_regclass('public.{t}') IS NOT NULL" for t in tables)
