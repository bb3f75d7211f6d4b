"""Request lines and the load tools that replay them.

A request line is `METHOD \\t PATH \\t name:value|name:value \\t BODY` (see requests.lua). The
same file drives the API and the ceiling. wrk is the load tool; a small Python driver (httpx,
the same closed loop: N connections each sending its next request when the last one is
answered) stands in where wrk is not installed, for the CI smoke run only: its own CPU use
on the same machine makes its figures worse than wrk's.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import BENCH_DIR

LUA = BENCH_DIR / "requests.lua"


@dataclass(frozen=True)
class Line:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def render(self) -> str:
        head = "|".join(f"{k}:{v}" for k, v in self.headers.items())
        for part in (self.path, head, self.body):
            if "\t" in part or "\n" in part:
                raise ValueError("request lines hold no tabs or newlines")
        return f"{self.method}\t{self.path}\t{head}\t{self.body}"


def write_lines(path: Path, lines: list[Line]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line.render() + "\n" for line in lines), encoding="utf-8")
    return path


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    base_url: str,
    lines_file: Path,
    *,
    duration: float,
    connections: int,
    threads: int = 2,
    prefix: str = "",
    slot_base: int = 0,
    sequential: bool = False,
) -> dict[str, Any]:
    threads = max(1, min(threads, connections))
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base_url,
        "--",
        str(lines_file),
        prefix,
        str(slot_base),
        str(threads),
        "seq" if sequential else "",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return _normalise(result, tool="wrk")


def _normalise(r: dict[str, Any], tool: str) -> dict[str, Any]:
    seconds = r["duration_us"] / 1e6
    lat = r["latency_us"]
    errors = sum(r["errors"].values())
    return {
        "tool": tool,
        "requests": r["requests"],
        "seconds": round(seconds, 2),
        "rps": round(r["requests"] / seconds, 1) if seconds else 0.0,
        "errors": r["errors"],
        "error_count": errors,
        "refused": r.get("refused", {}),
        "latency_ms": {k: round(v / 1000, 2) for k, v in lat.items()},
    }


def run_python(
    base_url: str,
    lines_file: Path,
    *,
    duration: float,
    connections: int,
    prefix: str = "",
    slot_base: int = 0,
    sequential: bool = False,
    **_: Any,
) -> dict[str, Any]:
    """The same closed loop as wrk, in Python (for machines without wrk)."""
    import httpx

    lines = []
    for raw in lines_file.read_text(encoding="utf-8").splitlines():
        method, path, head, body = raw.split("\t", 3)
        headers = dict(h.split(":", 1) for h in head.split("|") if h)
        lines.append((method, prefix + path, headers, body))
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    refused: dict[str, str] = {}  # status -> the first answer's body, to say why
    counter = [0]
    taken = [0]  # sequential: the next line, each once

    async def client(k: int) -> None:
        rng = random.Random(k)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10) as c:
            while time.monotonic() < deadline:
                if sequential:
                    method, path, headers, body = lines[taken[0] % len(lines)]
                    taken[0] += 1
                else:
                    method, path, headers, body = rng.choice(lines)
                if "{{START}}" in body:
                    counter[0] += 1
                    start = slot_base + counter[0] * 3600
                    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
                    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 3600))
                    body = body.replace("{{START}}", iso).replace("{{END}}", end)
                t0 = time.perf_counter()
                try:
                    r = await c.request(method, path, headers=headers, content=body or None)
                except httpx.TimeoutException:
                    errors["timeout"] += 1
                    continue
                except httpx.HTTPError:
                    errors["read"] += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status_code >= 400:
                    errors["status"] += 1
                    refused.setdefault(str(r.status_code), r.text[:500])

    async def main() -> float:
        start = time.monotonic()
        await asyncio.gather(*(client(k) for k in range(connections)))
        return time.monotonic() - start

    deadline = time.monotonic() + duration
    elapsed = asyncio.run(main())
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e6

    n = len(latencies)
    mean = sum(latencies) / n * 1e6 if n else 0.0
    result = {
        "requests": n,
        "duration_us": elapsed * 1e6,
        "errors": errors,
        "refused": refused,
        "latency_us": {
            "mean": mean,
            "stdev": 0.0,
            "max": latencies[-1] * 1e6 if n else 0.0,
            "p50": pct(50),
            "p90": pct(90),
            "p95": pct(95),
            "p99": pct(99),
        },
    }
    return _normalise(result, tool="python")


def run_load(tool: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    return (run_wrk if tool == "wrk" else run_python)(*args, **kwargs)
