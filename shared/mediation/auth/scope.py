"""Scoping written once: a record is visible when its unit path lies in one of the caller's
subtrees. Repositories add `in_scope(Model.unit_path, principal)` to every statement."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from mediation.auth.principal import Principal


def in_scope(
    unit_path: InstrumentedAttribute[str] | ColumnElement[str], principal: Principal
) -> ColumnElement[bool]:
    if not principal.scope_paths:
        return false()
    # LIKE 'prefix%' uses the text_pattern_ops index on the path column.
    return or_(*(unit_path.like(like_prefix(p), escape="\\") for p in principal.scope_paths))


def like_prefix(path: str) -> str:
    """The LIKE pattern (escape character backslash) of `path` and everything below it."""
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
