"""The pure hotline rules: risk floor, coverage gaps, retention cutoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mediation.hotline.enums import RiskLevel
from mediation.hotline.rules import (
    Assessment,
    ancestor_paths,
    coverage_gaps,
    is_flagged_risk,
    minimum_level,
    retention_cutoff,
)


def _a(desire: bool, capability: bool, intent: bool) -> Assessment:
    return Assessment(desire, (), capability, (), intent, ())


def test_minimum_level() -> None:
    assert minimum_level(_a(False, False, False)) is RiskLevel.none
    assert minimum_level(_a(True, False, False)) is RiskLevel.low
    assert minimum_level(_a(True, True, False)) is RiskLevel.medium
    assert minimum_level(_a(True, False, True)) is RiskLevel.medium
    assert minimum_level(_a(True, True, True)) is RiskLevel.high
    assert is_flagged_risk(RiskLevel.high, False) and is_flagged_risk(None, True)
    assert not is_flagged_risk(RiskLevel.medium, False)


def test_coverage_gaps() -> None:
    t0 = datetime(2026, 11, 26, tzinfo=UTC)

    def h(n: float) -> datetime:
        return t0 + timedelta(hours=n)

    assert coverage_gaps(h(0), h(24), []) == [(h(0), h(24))]
    assert coverage_gaps(h(0), h(24), [(h(-2), h(26))]) == []
    # overlapping and unordered shifts, a gap in the middle and at the end
    shifts = [(h(6), h(12)), (h(-1), h(8)), (h(14), h(20)), (h(19), h(22))]
    assert coverage_gaps(h(0), h(24), shifts) == [(h(12), h(14)), (h(22), h(24))]
    assert coverage_gaps(h(0), h(24), [(h(2), h(3))]) == [(h(0), h(2)), (h(3), h(24))]


def test_ancestor_paths() -> None:
    assert ancestor_paths("1.17.342.") == ["1.", "1.17.", "1.17.342."]


def test_retention_cutoff_is_never_less_than_three_years() -> None:
    now = datetime(2029, 11, 26, 2, 0, tzinfo=UTC)
    assert retention_cutoff(now, 1096) == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    assert retention_cutoff(now, 2000) == now - timedelta(days=2000)
    # even if a shorter period slipped past the settings, three calendar years hold
    assert retention_cutoff(now, 30) == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert retention_cutoff(leap, 1096) <= datetime(2025, 2, 28, tzinfo=UTC)
