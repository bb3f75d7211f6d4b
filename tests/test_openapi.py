"""The committed contract is what the app serves; a change to it is a deliberate commit
(`make openapi`)."""

from __future__ import annotations

import json
from pathlib import Path

from mediation_api.openapi import render
from tests.contract import expand_shared

COMMITTED = Path(__file__).resolve().parents[1] / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    served = render()
    assert COMMITTED.exists(), "openapi.json is missing: run `make openapi` and commit it"
    if COMMITTED.read_text(encoding="utf-8") != served:
        committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
        now = json.loads(served)
        added = sorted(set(now["paths"]) - set(committed["paths"]))
        removed = sorted(set(committed["paths"]) - set(now["paths"]))
        raise AssertionError(
            "openapi.json differs from what the app serves; run `make openapi`, review the "
            f"diff and commit it. Paths added: {added}; removed: {removed}"
        )


def test_every_operation_has_id_summary_and_declared_errors() -> None:
    doc = expand_shared(json.loads(render()))
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op.get("operationId"), f"{method} {path} has no operationId"
            assert op.get("summary") and op.get("description"), f"{op['operationId']} undocumented"
            if path.startswith("/api/v1/") and op["operationId"] != "auth-token":
                problems = [s for s in op["responses"] if s.startswith(("4", "5"))]
                assert problems, f"{op['operationId']} declares no error responses"
                for status in problems:
                    content = op["responses"][status].get("content", {})
                    assert "application/problem+json" in content, (op["operationId"], status)
