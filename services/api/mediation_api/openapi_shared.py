"""The OpenAPI document's shared pieces, declared once in `components` and referenced ($ref)
by every operation: the problem responses (401, 403, 404, 409, 412, 413, 415, 422, 428, 429,
400, 503), the common parameters (If-Match, Idempotency-Key, If-None-Match, cursor, limit)
and the response headers. Applied to the built document, so routes added later share them
without doing anything.

Also the parameters' clean-up: a parameter's schema does not repeat the parameter's
description nor carry a title; an optional parameter is not declared nullable (a generated
client would send the text `null`)."""

from __future__ import annotations

import json
import re
from collections import Counter
from http import HTTPStatus
from typing import Any

from mediation_api.query import MAX_REPEATED

PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
NULL = {"type": "null"}
# Keywords whose value is data (an example, a default), not a schema.
VALUES = frozenset({"examples", "example", "default", "enum", "const", "required"})


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "schema": schema}


# Response headers, declared once (`components/headers`).
HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Policy": _header(
        'The quota this caller is counted against (IETF draft "RateLimit header fields for '
        'HTTP"): `"minute";q=<requests>;w=60`.',
        {"type": "string", "maxLength": 100, "example": '"minute";q=600;w=60'},
    ),
    "RateLimit": _header(
        'What is left of the quota: `"minute";r=<requests left>;t=<seconds until the window '
        "resets>`.",
        {"type": "string", "maxLength": 100, "example": '"minute";r=597;t=42'},
    ),
    "ETag": _header(
        "The record's strong entity tag: send it as `If-Match` to change the record, or as "
        "`If-None-Match` to read it again only if it changed.",
        {"type": "string", "maxLength": 200, "example": '"0195f7a2-8c1e-7000-8000-0000000000c1-3"'},
    ),
    "Location": _header(
        "Where the created record (or the job to poll) is read.",
        {"type": "string", "format": "uri-reference", "maxLength": 500},
    ),
    "Idempotent-Replayed": _header(
        "`true` when this is the stored answer to an earlier request with the same "
        "Idempotency-Key (nothing was done again).",
        {"type": "string", "enum": ["true"]},
    ),
    "Retry-After": _header(
        "Seconds to wait before trying again.",
        {"type": "integer", "format": "int32", "minimum": 1, "maximum": 86400},
    ),
}


def header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


RATE_LIMIT_HEADERS = {name: header_ref(name) for name in ("RateLimit", "RateLimit-Policy")}

# status → (component name, description): the problem answers any operation may give.
ERRORS: dict[str, tuple[str, str]] = {
    "400": (
        "MalformedBody",
        "The body cannot be parsed: not well-formed JSON (or form data), or not UTF-8.",
    ),
    "401": ("Unauthorized", "Not signed in, or the token expired: get a new access token."),
    "403": (
        "Forbidden",
        "Signed in, but not allowed: the permission this needs is missing, or the record is "
        "outside the caller's jurisdiction.",
    ),
    "404": ("NotFound", "No such resource (or none the caller may see)."),
    "409": (
        "Conflict",
        "The request conflicts with the current state (a duplicate, or a state that does not "
        "allow it); `code` says which rule.",
    ),
    "412": (
        "PreconditionFailed",
        "If-Match is not the current ETag: someone changed the record since you read it; read "
        "it again.",
    ),
    "413": ("ContentTooLarge", "The request body is larger than the limit."),
    "415": (
        "UnsupportedMediaType",
        "The body is not in the media type the operation reads (application/json).",
    ),
    "422": (
        "Unprocessable",
        "Invalid request: fields (listed in `errors`) or a business rule (`code`).",
    ),
    "428": (
        "PreconditionRequired",
        "If-Match is missing (or weak, or `*`): send the strong ETag you last read.",
    ),
    "429": ("TooManyRequests", "Too many requests from this caller: wait `Retry-After` seconds."),
    "503": (
        "Unavailable",
        "The database is not reachable just now (e.g. a failover): nothing was changed; retry "
        "after `Retry-After` seconds.",
    ),
}
# A counted caller's error answers carry the quota too (4xx: the caller was counted).
_ERROR_HEADERS: dict[str, dict[str, Any]] = {
    **{status: dict(RATE_LIMIT_HEADERS) for status in ERRORS if status.startswith("4")},
    "429": {"Retry-After": header_ref("Retry-After"), **RATE_LIMIT_HEADERS},
    "503": {"Retry-After": header_ref("Retry-After")},
}

# (in, name) → component name of the parameters every operation of a kind shares.
PARAMETERS: dict[tuple[str, str], str] = {
    ("header", "if-match"): "IfMatch",
    ("header", "idempotency-key"): "IdempotencyKey",
    ("header", "if-none-match"): "IfNoneMatch",
    ("query", "cursor"): "Cursor",
    ("query", "limit"): "Limit",
}


def error_responses() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, (name, description) in ERRORS.items():
        resp: dict[str, Any] = {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        if status in _ERROR_HEADERS:
            resp["headers"] = _ERROR_HEADERS[status]
        out[name] = resp
    return out


def error_ref(status: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{ERRORS[status][0]}"}


def _generic(status: str, description: str) -> bool:
    """A description that says no more than the shared response does."""
    phrase = HTTPStatus(int(status)).phrase
    return description in ("", phrase, ERRORS[status][1], "Invalid request", "Not ready")


def _shared_error(status: str, resp: dict[str, Any]) -> dict[str, Any] | None:
    """The $ref replacing a problem response, or None when it says more than the shared one
    (other media types, other headers)."""
    if status not in ERRORS or "$ref" in resp:
        return None
    if resp.get("content") != {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}:
        return None
    headers = set(resp.get("headers", {}))
    if not headers <= set(_ERROR_HEADERS.get(status, {})):
        return None
    ref: dict[str, Any] = error_ref(status)
    description = resp.get("description", "")
    if not _generic(status, description):
        ref["description"] = description  # OpenAPI 3.1: a reference may override it
    return ref


def _not_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf [X, null]` → X: an optional parameter is left out, never sent as `null`."""
    members = schema.get("anyOf")
    if not isinstance(members, list) or NULL not in members:
        return schema
    rest = [m for m in members if m != NULL]
    out = {k: v for k, v in schema.items() if k != "anyOf"}
    if len(rest) == 1:
        out.update(rest[0])
    else:
        out["anyOf"] = rest
    return out


def _clean_parameter(param: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in param:
        return param
    schema = dict(param.get("schema", {}))
    if param.get("in") == "query":
        _bound_list(schema)
    schema.pop("title", None)
    if schema.get("description") == param.get("description"):
        schema.pop("description", None)
    if not param.get("required"):
        schema = _not_nullable(schema)
        if schema.get("default") is None:
            schema.pop("default", None)
    out = {k: v for k, v in param.items() if not (k == "required" and v is False)}
    out["schema"] = schema
    return out


def _bound_list(schema: dict[str, Any]) -> None:
    """A list query parameter repeats at most query.MAX_REPEATED times (query.py refuses
    more)."""
    for node in [schema, *schema.get("anyOf", [])]:
        if isinstance(node, dict) and node.get("type") == "array":
            node.setdefault("maxItems", MAX_REPEATED)


def _key(node: Any) -> str:
    return json.dumps(node, sort_keys=True, ensure_ascii=False)


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in doc.get("paths", {}).values() for op in item.values()]


def _compact(node: Any) -> Any:
    """A schema without titles (pydantic's "Case Id" for `case_id`, the class name for a
    component) and with `anyOf [X, null]` of a plain X written `type: [X, "null"]`: the same
    schema, said in fewer bytes."""
    if isinstance(node, list):
        return [_compact(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: (
            val
            if k in VALUES
            else {name: _compact(v) for name, v in val.items()}
            if k == "properties" and isinstance(val, dict)
            else _compact(val)
        )
        for k, val in node.items()
        if not (k == "title" and isinstance(val, str))
    }
    _integer_format(out)
    members = out.get("anyOf")
    if isinstance(members, list) and len(members) == 2 and NULL in members:
        other = next(m for m in members if m != NULL)
        plain = isinstance(other.get("type"), str) and not {"$ref", "enum", "const"} & set(other)
        if plain and not set(other) & set(out):
            del out["anyOf"]
            out.update(other)
            out["type"] = [other["type"], "null"]
    return out


INT32 = (-(2**31), 2**31 - 1)


def _integer_format(node: dict[str, Any]) -> None:
    """An integer says its size: int32 when its bounds fit (PostgreSQL `integer`), else
    int64 (counts and sizes the server computes)."""
    kind = node.get("type")
    if not (kind == "integer" or (isinstance(kind, list) and "integer" in kind)):
        return
    if "format" in node:
        return
    low, high = node.get("minimum"), node.get("maximum")
    fits = low is not None and high is not None and INT32[0] <= low and high <= INT32[1]
    node["format"] = "int32" if fits else "int64"


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


def _share_repeated(
    ops: list[dict[str, Any]], comps: dict[str, Any], section: str, namer: Any
) -> None:
    """Every parameter or success (or 304) response that several operations declare
    identically goes to `components/<section>` once (the most common definition of a name
    gets the plain name, others a number)."""
    field = "parameters" if section == "parameters" else "responses"
    seen: Counter[str] = Counter()
    for op in ops:
        items = op.get(field, [])
        for item in items if isinstance(items, list) else items.items():
            if field == "responses":
                status, resp = item
                if status.startswith(("2", "3")) and "$ref" not in resp:
                    seen[_key([status, resp])] += 1
            elif "$ref" not in item:
                seen[_key(item)] += 1
    taken = set(comps.get(section, {}))
    names: dict[str, str] = {}
    for key, count in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])):
        if count < 2:
            continue
        base = namer(json.loads(key))
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}{n}"
        taken.add(name)
        names[key] = name
    shared = comps.setdefault(section, {})
    for op in ops:
        if field == "parameters" and "parameters" in op:
            for i, param in enumerate(op["parameters"]):
                if (name := names.get(_key(param))) is not None:
                    shared[name] = param
                    op["parameters"][i] = {"$ref": f"#/components/parameters/{name}"}
        elif field == "responses":
            for status, resp in op.get("responses", {}).items():
                if (name := names.get(_key([status, resp]))) is not None:
                    shared[name] = resp
                    op["responses"][status] = {"$ref": f"#/components/responses/{name}"}


def _parameter_name(param: dict[str, Any]) -> str:
    return _pascal(param.get("name", "Parameter"))


def _response_name(pair: list[Any]) -> str:
    status, resp = pair
    refs = re.findall(r"#/components/schemas/([A-Za-z0-9_.-]+)", _key(resp.get("content", {})))
    if not refs and status.startswith("3"):
        return _pascal(HTTPStatus(int(status)).phrase)  # NotModified
    base = _pascal(refs[0]) if refs else "Empty"
    return base if status == "200" else f"{base}{status}"


def _versioned(doc_schemas: dict[str, Any], resp: dict[str, Any]) -> bool:
    schema = resp.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    target = doc_schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
    return "version" in target.get("properties", {})


def declare_headers(op: dict[str, Any], schemas: dict[str, Any]) -> None:
    """What the write and read helpers (actions.py, idempotency.py) do: If-Match required
    where a change without it is a 428; the response headers they send: the ETag of a
    versioned record, Location of what a 201/202 made, Idempotent-Replayed where a key is
    taken."""
    if "428" in op.get("responses", {}):
        for param in op.get("parameters", []):
            if (param.get("in"), param.get("name", "").lower()) == ("header", "if-match"):
                param["required"] = True
    names = {(p.get("in"), p.get("name", "").lower()) for p in op.get("parameters", [])}
    idempotent = ("header", "idempotency-key") in names
    for status, resp in op.get("responses", {}).items():
        if not status.startswith("2") or "$ref" in resp:
            continue
        headers = resp.setdefault("headers", {})
        if _versioned(schemas, resp):
            headers.setdefault("ETag", header_ref("ETag"))
        if status in ("201", "202"):
            headers.setdefault("Location", header_ref("Location"))
        if idempotent:
            headers.setdefault("Idempotent-Replayed", header_ref("Idempotent-Replayed"))
        if not headers:
            del resp["headers"]


def declare_rate_limit_headers(op: dict[str, Any]) -> None:
    """Every answer to a counted caller says what is left; the contract declares it where
    clients read it, on success (the 429 component has it too)."""
    for status, resp in op.get("responses", {}).items():
        if status.startswith("2"):
            resp.setdefault("headers", {}).update(RATE_LIMIT_HEADERS)


def declare_common_errors(op: dict[str, Any], rate_limited: bool, database: bool) -> None:
    """The cross-cutting problem responses of one operation: 401 where a token is needed,
    429 where a caller is counted (every signed-in call and the token request), 400
    (unparsable) and 413 (RequestContextMiddleware) where there is a body, 415 where the body
    is JSON, 503 with Retry-After where the database is used (a failover)."""
    responses = op.setdefault("responses", {})
    wanted = []
    if op.get("security"):
        wanted.append("401")
    if op.get("requestBody"):
        wanted += ["400", "413"]
        if "application/json" in op["requestBody"].get("content", {}):
            wanted.append("415")
    if rate_limited:
        wanted.append("429")
    if database:
        wanted.append("503")
    for status in wanted:
        responses.setdefault(status, error_ref(status))


def share(doc: dict[str, Any]) -> None:
    """Moves the shared pieces of `doc` into `components` and references them."""
    comps = doc.setdefault("components", {})
    ops = _operations(doc)
    for op in ops:
        if "parameters" in op:
            op["parameters"] = [_clean_parameter(p) for p in op["parameters"]]
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            schema = content.get("schema", {})
            if media == "text/csv" and schema.get("type") == "string":
                schema.setdefault("format", "binary")  # a CSV file is sent as it is
    # The named parameter is its most common definition; a route declaring it otherwise
    # (another description) keeps its own.
    variants: dict[str, Counter[str]] = {}
    for op in ops:
        for param in op.get("parameters", []):
            name = PARAMETERS.get((param.get("in", ""), param.get("name", "").lower()))
            if name:
                variants.setdefault(name, Counter())[_key(param)] += 1
    named = {name: json.loads(c.most_common(1)[0][0]) for name, c in sorted(variants.items())}
    by_key = {_key(param): name for name, param in named.items()}
    for op in ops:
        if "parameters" in op:
            op["parameters"] = [
                {"$ref": f"#/components/parameters/{by_key[_key(p)]}"} if _key(p) in by_key else p
                for p in op["parameters"]
            ]
        for status, resp in list(op.get("responses", {}).items()):
            ref = _shared_error(status, resp)
            if ref is not None:
                op["responses"][status] = ref
    comps["parameters"] = {**comps.get("parameters", {}), **named}
    comps["responses"] = {**comps.get("responses", {}), **error_responses()}
    comps["headers"] = {**comps.get("headers", {}), **HEADERS}
    for op in ops:
        for param in op.get("parameters", []):
            if "schema" in param:
                param["schema"] = _compact(param["schema"])
    for param in comps["parameters"].values():
        param["schema"] = _compact(param["schema"])
    _share_repeated(ops, comps, "parameters", _parameter_name)
    _share_repeated(ops, comps, "responses", _response_name)
    for section in ("parameters", "responses"):
        comps[section] = dict(sorted(comps[section].items()))
    if "schemas" in comps:
        comps["schemas"] = {name: _compact(schema) for name, schema in comps["schemas"].items()}
