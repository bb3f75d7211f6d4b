"""Pure pieces of the statistics: month windows in Beijing time, and the SQL's figures matching
the stored columns."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mediation.clock import CENTER_TZ
from mediation.stats import periods
from mediation.stats.enums import TrendIndicator
from mediation.stats.models import FIGURES, StatsRow
from mediation_worker.stats import sql


def test_months_are_beijing_calendar_months() -> None:
    w = periods.month_window(2026, 10)
    assert w.start == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert w.end == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert (w.first, w.stop) == (date(2026, 10, 1), date(2026, 11, 1))
    last_minute = datetime(2026, 10, 31, 23, 59, tzinfo=CENTER_TZ)  # 15:59 UTC
    assert w.start <= last_minute < w.end
    p = periods.monthly_periods(2026, 1)
    assert p.previous_month.first == date(2025, 12, 1)
    assert p.previous_year.first == date(2025, 1, 1)
    assert periods.month_just_ended(datetime(2026, 12, 1, 1, tzinfo=CENTER_TZ)) == (2026, 11)
    # 17:30 UTC on 30 November is already 1 December in Beijing.
    assert periods.month_just_ended(datetime(2026, 11, 30, 17, 30, tzinfo=UTC)) == (2026, 11)
    assert periods.last_months(2026, 2, 3) == [(2025, 12), (2026, 1), (2026, 2)]
    assert periods.parse("2026-10") == (2026, 10) and periods.label(2026, 3) == "2026-03"


def test_month_to_date_compares_the_same_stretch() -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=CENTER_TZ)
    p = periods.live_periods(now)
    assert p.current.start == datetime(2026, 3, 1, tzinfo=CENTER_TZ) and p.current.end == now
    assert p.current.stop == date(2026, 4, 1)  # records dated today count
    # February is shorter: its stretch is cut at its end.
    assert p.previous_month.end == datetime(2026, 3, 1, tzinfo=CENTER_TZ)
    assert p.previous_year.end == datetime(2025, 3, 31, 12, tzinfo=CENTER_TZ)


def test_the_sql_writes_every_stored_figure() -> None:
    written = {*sql.INT_FIGURES, sql.AMOUNT, "resolution_days_median", "resolution_days_mean"}
    assert written == set(FIGURES)
    assert set(sql.TREND) == {t.value for t in TrendIndicator} - {"success_rate"}
    assert set(StatsRow.__table__.columns.keys()) >= written
    statement = sql.rows_statement(frozenset({"hotline", "outreach", "sessions"}))
    assert "ROLLUP(l1, l2, l3, l4, l5, l6, l7)" in statement
    # Without the sessions table the figure is NULL, not 0.
    assert "NULL::bigint AS sessions_held" in sql.rows_statement(frozenset())
    assert "NULL::bigint AS sessions_held" not in statement
