"""Two pieces of the bench harness a whole run relies on: booking runs never share slots
(`SlotClock`), and a profile's request samples are told apart by what they do
(`report.summarise_profile`'s duties)."""

from __future__ import annotations

import itertools
from pathlib import Path

from bench import report
from bench.load import Line
from bench.runner import Scenario, SlotClock

BOOKING = Scenario("session_booking", "", 16, [Line("POST", "/x", body='{"s": "{{START}}"}')], [])
READING = Scenario("case_by_id", "", 32, [Line("GET", "/x")], [])


def test_a_whole_run_of_booking_runs_never_books_a_slot_twice() -> None:
    slots = SlotClock()
    ranges = []
    for requests in [1_500, 3_600, 1_800, 8_000, 2_000, 9_000, 900, 900, 700, 4_000, 3_000, 3_000]:
        assert slots.take(READING) == 0  # a run that books nothing takes no range
        base = slots.take(BOOKING)
        ranges.append((base, base + requests * SlotClock.SLOT))
        slots.spent({"requests": requests})
    ranges.sort()
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert end <= start  # twelve runs, 37,400 bookings: no range wrapped onto another


def test_a_profile_tells_the_requests_duties_from_the_rest(tmp_path: Path) -> None:
    root = "run (mediation_api/main.py:1);RequestContextMiddleware.__call__ (mediation_api/m.py:2)"
    raw = tmp_path / "profile.txt"
    raw.write_text(
        f"{root};get_principal (x/mediation_api/deps.py:3);RateLimiter.hit (x/r.py:4) 3\n"
        f"{root};solve_dependencies (fastapi/dependencies/utils.py:5) 2\n"
        f"{root};handler (x/mediation_api/h.py:6);Connection.execute (asyncpg/c.py:7) 4\n"
        f"{root};handler (x/mediation_api/h.py:6) 1\n"
        "run (mediation_api/main.py:1);Server.main_loop (uvicorn/server.py:8) 10\n"
    )
    duties = dict(report.summarise_profile(raw)["duties"])
    # Shares of all twenty samples: the server's own loop is a part of serving them too.
    assert duties == {
        "rate limit (a count per caller in Redis)": 15.0,
        "FastAPI's dependency resolution": 10.0,
        "the driver (asyncpg: the statements' round trips, as the ceiling's)": 20.0,
        "the app's own code": 5.0,
        "FastAPI, Starlette, uvicorn, Pydantic (routing, middleware, models)": 50.0,
    }


def test_the_duties_table_gives_sampled_ms_per_request_when_it_knows_the_requests() -> None:
    prof = {
        "samples": 1_000,  # at 250 a second: 4,000 ms of busy time
        "hz": 250,
        "requests": 2_000,  # 2 ms each
        "duties": [
            ("rate limit (a count per caller in Redis)", 25.0),
            ("the app's own code", 75.0),
        ],
    }
    table = report.duty_lines(prof)
    assert "| rate limit (a count per caller in Redis) | 25.0 | 0.50 |" in table
    assert "| the app's own code | 75.0 | 1.50 |" in table
    # Without the count (an older run's results): the shares alone.
    assert "| the app's own code | 75.0 |" in report.duty_lines({**prof, "requests": 0})
