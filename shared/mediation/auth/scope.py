"""Scoping written once: a record is visible when its unit path lies in one of the caller's
subtrees. Repositories add `in_scope(Model.unit_path, principal)` to every statement."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from mediation.auth.principal import Principal

# Built clauses by (column, scope paths). Coercing the LIKE patterns into bound literals cost
# about a tenth of a case write's CPU when done per request (issue 22); a clause is immutable
# and safe to share between statements. Keyed by the column's identity (its `==` builds SQL),
# holding the column so the id is not reused; cleared whole when it grows past the bound.
_CLAUSES: dict[tuple[int, tuple[str, ...]], tuple[Any, ColumnElement[bool]]] = {}
_MAX_CLAUSES = 4096


def in_scope(
    unit_path: InstrumentedAttribute[str] | ColumnElement[str], principal: Principal
) -> ColumnElement[bool]:
    paths = principal.scope_paths
    key = (id(unit_path), paths)
    hit = _CLAUSES.get(key)
    if hit is not None:
        return hit[1]
    clause = under_any(unit_path, paths)
    if len(_CLAUSES) >= _MAX_CLAUSES:
        _CLAUSES.clear()
    _CLAUSES[key] = (unit_path, clause)
    return clause


def under_any(
    unit_path: InstrumentedAttribute[str] | ColumnElement[str], paths: tuple[str, ...]
) -> ColumnElement[bool]:
    """The path lies in one of the subtrees `paths` (none: false)."""
    if not paths:
        return false()
    # LIKE 'prefix%' uses the text_pattern_ops index on the path column.
    return or_(*(unit_path.like(like_prefix(p), escape="\\") for p in paths))


def like_prefix(path: str) -> str:
    """The LIKE pattern (escape character backslash) of `path` and everything below it."""
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# The grid a path lies in: its first five components (city.district.street.community.grid.),
# NULL for a path above the grids. `ix_cases_grid_received` (migration 0035) is ordered by it
# and then newest first, so a grid's list walks only the grid's cases.
# Written as PostgreSQL shows the index's expression, so that `alembic check` finds no drift.
GRID_KEY_SQL = r"substring(unit_path::text, '^(?:[^.]+\.){5}'::text)"
_GRID_PATTERN = re.compile(r"(?:[^.%_\\]+\.){5}%")


def grid_key(pattern: str) -> str | None:
    """The path whose grid key selects the same records as `unit_path LIKE pattern`: for the
    pattern of exactly five components without LIKE wildcards or escapes (`like_prefix` of a
    grid's path), `GRID_KEY_SQL = <path>` holds exactly when the path starts with it."""
    return pattern[:-1] if _GRID_PATTERN.fullmatch(pattern) else None
