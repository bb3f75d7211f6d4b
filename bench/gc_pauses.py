"""The cyclic collector's pauses in the API process, with and without `gc.freeze()` after
startup (issue 22, item 4: the mixed workload's tail).

    .venv/bin/python -m bench.gc_pauses [--requests 6000] [--rounds 2]

Each round starts two fresh processes, one after the other, that build the app as
`mediation-api` serves it (`served_app`: startup, then the heap frozen) or without the freeze,
and send it case views and case list pages alternately in process (bench/request_cost.py's
dataset, caller and transport). Every collection during the requests is timed (CPU time, from
`gc.callbacks`); the table gives, per variant, the collections of each generation, the
longest pause (the whole event loop, so every request in flight, waits for it), the collector's
CPU per request and the process's CPU per request. Medians over rounds."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from bench import request_cost as rc
from bench.config import PG_SERVER


class _Pauses:
    def __init__(self) -> None:
        self.by_gen: list[list[float]] = [[], [], []]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.by_gen[info["generation"]].append(time.process_time() - self._started)


async def _one(url: str, frozen: bool, n: int) -> dict[str, Any]:
    from mediation.clock import SystemClock
    from mediation_api.main import create_app

    headers, case_id = await rc._caller(url)
    paths = rc._paths(case_id)
    app = create_app(rc._settings(url), SystemClock())
    app.state.freeze_heap = frozen
    async with app.router.lifespan_context(app):
        transport = rc.httpx.ASGITransport(app=app)
        async with rc.httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(100):  # warm-up: prepared statements, caches
                (await client.get(paths["case"], headers=headers)).raise_for_status()
            pauses = _Pauses()
            gc.callbacks.append(pauses)
            start = time.process_time()
            for i in range(n):
                r = await client.get(paths["case" if i % 2 else "list"], headers=headers)
                r.raise_for_status()
            cpu = time.process_time() - start
            gc.callbacks.remove(pauses)
    every = [p for gen in pauses.by_gen for p in gen]
    return {
        "collections": [len(g) for g in pauses.by_gen],
        "max_pause_ms": max(every, default=0.0) * 1e3,
        "full_pause_ms": [round(p * 1e3, 1) for p in pauses.by_gen[2]],
        "gc_us_per_request": sum(every) / n * 1e6,
        "cpu_us_per_request": cpu / n * 1e6,
        "tracked_objects": len(gc.get_objects()),
        "frozen_objects": gc.get_freeze_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database", default="mediation_request_cost")
    parser.add_argument("--server", default=PG_SERVER)
    parser.add_argument("--one", choices=["frozen", "unfrozen"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    rc._log_to_nowhere()
    url = asyncio.run(rc._ensure_dataset(args.server, args.database))
    if args.one:
        print(json.dumps(asyncio.run(_one(url, args.one == "frozen", args.requests))))
        return
    runs: dict[str, list[dict[str, Any]]] = {"unfrozen": [], "frozen": []}
    for _ in range(args.rounds):
        for variant in runs:
            out = subprocess.run(
                [
                    *(sys.executable, "-m", "bench.gc_pauses", "--one", variant),
                    *("--requests", str(args.requests), "--database", args.database),
                    *("--server", args.server),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            runs[variant].append(json.loads(out.strip().splitlines()[-1]))
    print(
        f"{args.requests} requests (case view and list page alternately), median of "
        f"{args.rounds} rounds"
    )
    print(
        "| heap after startup | collections gen 0/1/2 | full pauses ms | longest pause ms "
        "| collector µs/request | CPU µs/request |"
    )
    print("| --- | --- | --- | --: | --: | --: |")
    for variant, results in runs.items():
        gens = "/".join(
            str(statistics.median(r["collections"][g] for r in results)) for g in range(3)
        )
        fulls = "; ".join(", ".join(map(str, r["full_pause_ms"])) or "none" for r in results)

        def med(key: str, rs: list[dict[str, Any]] = results) -> float:
            return statistics.median(r[key] for r in rs)

        print(
            f"| {variant} | {gens} | {fulls} | {med('max_pause_ms'):.1f} "
            f"| {med('gc_us_per_request'):.0f} | {med('cpu_us_per_request'):.0f} |"
        )


if __name__ == "__main__":
    main()
