"""The benchmark smoke builds its own database: no per-test database or cleanup needed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    """Overrides the suite's autouse cleanup (which would create the shared test database)."""
    yield
