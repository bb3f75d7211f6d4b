"""Where a load run's latency was spent, by route: the API's own request histogram
(`http_request_duration_seconds`, middleware.py: from the request entering the app to its last
byte) read from /metrics before and after a run. Against wrk's latency for the same run, the
difference is time outside the app (waiting to be read off the socket by a busy event loop),
which the event loop's lag (`mediation_event_loop_lag_seconds`, one more row) shows."""

from __future__ import annotations

import re
from typing import Any

import httpx

_BUCKET = re.compile(
    r"^(?P<name>http_request_duration_seconds|mediation_event_loop_lag_seconds)_bucket"
    r"\{(?P<labels>.*)\}\s+(?P<value>\S+)$"
)
# The event loop's lag (ops/looplag.py) as one more row: its "requests" are timers.
LOOP = ("(event loop)", "lag of a timer due every 0.25 s")
_LABEL = re.compile(r'(\w+)="([^"]*)"')

Histograms = dict[tuple[str, str], dict[float, float]]


def scrape(api_url: str) -> Histograms:
    """Cumulative bucket counts per (method, route), all statuses summed."""
    text = httpx.get(api_url + "/metrics", timeout=10).text
    out: Histograms = {}
    for line in text.splitlines():
        m = _BUCKET.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m["labels"]))
        le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        key = LOOP if m["name"].startswith("mediation") else (labels["method"], labels["route"])
        buckets = out.setdefault(key, {})
        buckets[le] = buckets.get(le, 0.0) + float(m["value"])
    return out


def _quantile(buckets: list[tuple[float, float]], q: float) -> str:
    """The bucket bound the q-th request falls under ("> <last bound>" past the last)."""
    total = buckets[-1][1]
    last = max((le for le, _ in buckets if le != float("inf")), default=0.0)
    for le, count in buckets:
        if count >= q * total:
            return f"> {last * 1000:g}" if le == float("inf") else f"≤ {le * 1000:g}"
    return "–"


def routes(before: Histograms, after: Histograms) -> list[dict[str, Any]]:
    """Per route, what the run added: requests, share of the run, and how many took longer
    than 100 and 250 ms inside the app; busiest first."""
    rows = []
    for key, buckets in after.items():
        old = before.get(key, {})
        diff = sorted((le, n - old.get(le, 0.0)) for le, n in buckets.items())
        total = diff[-1][1] if diff else 0
        if total <= 0:
            continue
        under = dict(diff)
        rows.append(
            {
                "method": key[0],
                "route": key[1],
                "requests": int(total),
                "over_100ms": int(total - under.get(0.1, total)),
                "over_250ms": int(total - under.get(0.25, total)),
                "p50": _quantile(diff, 0.5),
                "p99": _quantile(diff, 0.99),
            }
        )
    return sorted(rows, key=lambda r: -r["requests"])
