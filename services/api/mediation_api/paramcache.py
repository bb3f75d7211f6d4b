"""FastAPI (0.165) works out, on every request and for every parameter of every dependency,
facts about the parameter that never change once the routes are built: whether its
annotation is a sequence, whether it is a model of parameters, whether it is a JSON field, its
aliases; and for every dependency its cache key. For the case list (twenty query parameters)
that was about a third of the request's CPU under cProfile (`bench/request_cost.py --profile list`).
Here those pure functions remember their answers; what FastAPI does with them is unchanged.

Answers are remembered per parameter or dependency object (kept alive by the cache, so its
identity cannot be reused) or per annotation (equal annotations have the same answer), up to
a bound: past it (objects made per request by dependency overrides, in tests) they are
computed as before. A FastAPI without these functions is left alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.dependencies import utils

_MAX = 4096
_applied = False


def _by_identity(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn(field, **kwargs)` remembered per field object (and keyword arguments)."""
    cache: dict[tuple[int, tuple[tuple[str, Any], ...]], tuple[Any, Any]] = {}

    def cached(field: Any, *args: Any, **kwargs: Any) -> Any:
        if args:  # not how FastAPI 0.165 calls it: as it was
            return fn(field, *args, **kwargs)
        key = (id(field), tuple(sorted(kwargs.items())))
        try:
            hit = cache.get(key)
        except TypeError:  # an unhashable argument
            return fn(field, **kwargs)
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


def _cache_key_by_dependant(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`_get_cache_key(dependant=...)` remembered per dependency: FastAPI works it out for
    every dependency of every request (walking the dependency's own tree for security
    scopes), from what the dependency declared once."""
    cache: dict[int, tuple[Any, Any]] = {}

    def cached(*, dependant: Any, uses_scopes_cache: Any = None, **others: Any) -> Any:
        if others:  # not how FastAPI 0.165 calls it: as it was
            return fn(dependant=dependant, uses_scopes_cache=uses_scopes_cache, **others)
        hit = cache.get(id(dependant))
        if hit is not None and hit[0] is dependant:
            return hit[1]
        result = fn(dependant=dependant, uses_scopes_cache=uses_scopes_cache)
        if len(cache) < _MAX:
            cache[id(dependant)] = (dependant, result)
        return result

    return cached


def apply() -> None:
    """Once per process (every app created shares FastAPI's module)."""
    global _applied
    names = ("_get_param_model", "_is_json_field", "_get_param_aliases")
    others = ("field_annotation_is_sequence", "_get_cache_key")
    if _applied or not all(hasattr(utils, n) for n in (*names, *others)):
        return
    for name in names:
        setattr(utils, name, _by_identity(getattr(utils, name)))
    utils.field_annotation_is_sequence = _by_value(utils.field_annotation_is_sequence)
    utils._get_cache_key = _cache_key_by_dependant(utils._get_cache_key)
    _applied = True
