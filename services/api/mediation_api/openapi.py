"""Print the OpenAPI document (`python -m mediation_api.openapi > openapi.json`)."""

from __future__ import annotations

import json
import sys
from typing import Any

from mediation_api.main import create_app


def document() -> dict[str, Any]:
    return create_app().openapi()


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
