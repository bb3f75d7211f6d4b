"""FastAPI (0.165) works out, on every request and for every parameter of every dependency,
facts about the parameter that never change once the routes are built: whether its
annotation is a sequence, whether it is a model of parameters, whether it is a JSON field, its
aliases. For the case list (twenty query parameters) that was a third of the request's CPU
in a profile (`bench/request_cost.py --profile list`). Here those pure functions remember
their answers; what FastAPI does with them is unchanged.

Answers are remembered per parameter object (kept alive by the cache, so its identity cannot
be reused) or per annotation (equal annotations have the same answer), up to a bound: past it
(parameters made per request by dependency overrides, in tests) they are computed as before.
A FastAPI without these functions is left alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.dependencies import utils

_MAX = 4096
_applied = False


def _by_identity(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn(field, **kwargs)` remembered per field object (and keyword arguments)."""
    cache: dict[tuple[int, tuple[tuple[str, Any], ...]], tuple[Any, Any]] = {}

    def cached(field: Any, **kwargs: Any) -> Any:
        key = (id(field), tuple(sorted(kwargs.items())))
        hit = cache.get(key)
        if hit is not None and hit[0] is field:
            return hit[1]
        result = fn(field, **kwargs)
        if len(cache) < _MAX:
            cache[key] = (field, result)
        return result

    return cached


def _by_value(fn: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """`fn(annotation)` remembered per annotation (when it can be hashed)."""
    cache: dict[Any, bool] = {}

    def cached(annotation: Any) -> bool:
        try:
            return cache[annotation]
        except KeyError:
            pass
        except TypeError:  # unhashable
            return fn(annotation)
        result = fn(annotation)
        if len(cache) < _MAX:
            cache[annotation] = result
        return result

    return cached


def apply() -> None:
    """Once per process (every app created shares FastAPI's module)."""
    global _applied
    names = ("_get_param_model", "_is_json_field", "_get_param_aliases")
    if _applied or not all(hasattr(utils, n) for n in (*names, "field_annotation_is_sequence")):
        return
    for name in names:
        setattr(utils, name, _by_identity(getattr(utils, name)))
    utils.field_annotation_is_sequence = _by_value(utils.field_annotation_is_sequence)
    _applied = True
