"""The contract kit: OpenAPI quality rules, the breaking-change check, fuzzing, the typed
client and the integration guide's runnable examples."""

from __future__ import annotations

import functools
import json
from typing import Any


@functools.cache
def _rendered() -> str:
    from mediation_api.openapi import render

    return render()


def served() -> dict[str, Any]:
    """The document the app serves (built once per test session; a fresh copy each call)."""
    result: dict[str, Any] = json.loads(_rendered())
    return result


# Components an operation may reference instead of repeating (schemas are compared by name).
SHARED = ("responses", "parameters", "headers", "requestBodies", "examples")


def expand_shared(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with every reference (in its paths) to a shared response, parameter, header or
    body replaced by what it points at (a reference's own `description` wins), so tests read
    an operation as a client generator does."""

    def expand(node: Any, depth: int) -> Any:
        if isinstance(node, list):
            return [expand(v, depth) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and depth < 20:
            parts = ref.split("/")
            if len(parts) == 4 and parts[:2] == ["#", "components"] and parts[2] in SHARED:
                target = doc.get("components", {}).get(parts[2], {}).get(parts[3])
                if isinstance(target, dict):
                    siblings = {k: v for k, v in node.items() if k != "$ref"}
                    return expand({**target, **siblings}, depth + 1)
        return {k: expand(v, depth) for k, v in node.items()}

    out = dict(doc)
    out["paths"] = expand(doc.get("paths", {}), 0)
    return out
