"""deploy/monitoring (issue 23): every metric the Grafana dashboard and the alert rules query
is one /metrics serves, and every alert's runbook link names a section of
docs/operations.md. (`make monitoring-check` runs promtool on the rules and their tests.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "deploy" / "monitoring"
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
}
# Words of PromQL that look like metric names (functions are followed by "(").
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
KEYWORDS |= {"and", "or", "unless", "inf", "nan"}
# Prometheus' own series, not the service's.
PROMETHEUS = {"up"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # label lists
    expr = re.sub(r'"[^"]*"', "", expr)
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)\s*(\()?", expr):
        if m.group(2) is None and m.group(1) not in KEYWORDS:
            names.add(m.group(1))
    return names


def test_metric_names_of_an_expression() -> None:
    assert metric_names(
        'histogram_quantile(0.95, sum by (route, le) (rate(http_x_bucket{a="b"}[5m]))) > 1'
    ) == {"http_x_bucket"}
    assert metric_names("max(a) == 0 or max(b_seconds) > 15 * 60") == {"a", "b_seconds"}


async def served(client: httpx.AsyncClient) -> set[str]:
    r = await client.get("/metrics")
    assert r.status_code == 200
    names: set[str] = set()
    for family in text_string_to_metric_families(r.text):
        names.add(family.name)
        names.update(family.name + s for s in SUFFIXES.get(family.type, ()))
        names.update(s.name for s in family.samples)
    return names


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    return loaded


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


async def test_every_dashboard_panel_queries_metrics_the_service_serves(
    client: httpx.AsyncClient,
) -> None:
    have = await served(client)
    panels = dashboard()["panels"]
    assert panels and len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, (panel["title"], target["expr"])
            assert names <= have, (panel["title"], names - have)


async def test_every_alert_queries_metrics_the_service_serves(client: httpx.AsyncClient) -> None:
    have = await served(client) | PROMETHEUS
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= {
        "MediationOutboxStuck",
        "MediationWorkerHeartbeatMissing",
        "MediationDeliveriesFailing",
        "MediationOverdueCasesRising",
        "MediationHighRiskCallUnacknowledged",
        "MediationReplicaLagHigh",
    }
    for rule in rules:
        names = metric_names(rule["expr"])
        assert names and names <= have, (rule["alert"], names - have)


def test_every_alert_has_a_runbook_section() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    headings = {
        re.sub(r"[^\w-]", "", h.strip().lower().replace(" ", "-"))
        for h in re.findall(r"^#+ (.+)$", operations, flags=re.M)
    }
    for rule in alert_rules():
        runbook = rule["annotations"]["runbook"]
        page, _, anchor = runbook.partition("#")
        assert page == "docs/operations.md" and anchor in headings, rule["alert"]
