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
