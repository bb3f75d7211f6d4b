"""The OpenAPI quality rules, as a pure function over the document: every operation has a
readable id, a tag, a summary and a description; every schema, property, parameter and enum
value is described; every request body has a valid example; every error is problem+json;
the security schemes offer the password and client-credentials flows; every number a client
sends (parameter or body) has a minimum and a maximum the database can hold.

`python -m tests.contract.quality` prints the defects of the app's document with the source
file that defines each offending route or schema.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs

ROOT = Path(__file__).resolve().parents[2]
PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
TOKEN_URL = "/api/v1/auth/token"
OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# Operations anyone may call: no `security`, no 401. The last two carry their own
# credential in the URL: a short-lived signed download link, a mediator's calendar feed token.
PUBLIC = {
    "auth-token",
    "auth-refresh",
    "ops-healthz",
    "ops-readyz",
    "ops-metrics",
    "attachments-download",
    "sessions-calendar-feed",
}
# File uploads: an example cannot show the file.
NO_EXAMPLE_MEDIA = {"multipart/form-data", "application/octet-stream"}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
INT32_MAX = 2**31 - 1


@dataclass(frozen=True, order=True)
class Defect:
    """One broken rule. `where` names the operation (its id) or the schema and field."""

    where: str
    rule: str
    detail: str

    @property
    def key(self) -> str:
        return f"{self.where}: {self.rule}"

    def __str__(self) -> str:
        return f"{self.where}: {self.rule} — {self.detail}"


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The node a `$ref` points at ({} when it points nowhere: see `_refs`)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        target = _target(doc, node["$ref"])
        if target is None:
            return {}
        node = target
        seen += 1
    return node


def _target(doc: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        return None
    target: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            return None
        target = target[part]
    return target


def _refs(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield where, node["$ref"]
        for key, value in node.items():
            yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _refs(value, f"{where}/{i}")


def check(doc: dict[str, Any]) -> list[Defect]:
    """Every defect of the document, sorted."""
    out: list[Defect] = []
    for method, path, op in operations(doc):
        for _, ref in _refs(op, ""):
            if _target(doc, ref) is None:
                where = f"operation {op.get('operationId') or method + ' ' + path}"
                out.append(Defect(where, "dangling-ref", f"{ref} is not in the document"))
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        for _, ref in _refs(schema, ""):
            if _target(doc, ref) is None:
                out.append(Defect(f"schema {name}", "dangling-ref", f"{ref} is not defined"))
    out += _info(doc)
    out += _security(doc)
    out += _operations(doc)
    out += _schemas(doc)
    out += _input_numbers(doc)
    return sorted(set(out))


# --------------------------------------------------------------------------- document


def _info(doc: dict[str, Any]) -> Iterator[Defect]:
    info = doc.get("info", {})
    for field in ("title", "version", "description"):
        if not info.get(field):
            yield Defect("info", f"no-{field}", f"info.{field} is empty")
    for tag in doc.get("tags", []):
        if not tag.get("description"):
            yield Defect(f"tag {tag.get('name')}", "no-description", "declared tag without text")


def _security(doc: dict[str, Any]) -> Iterator[Defect]:
    schemes = doc.get("components", {}).get("securitySchemes", {})
    oauth = [s for s in schemes.values() if s.get("type") == "oauth2"]
    if not oauth:
        yield Defect("securitySchemes", "no-oauth2", "no OAuth2 security scheme is declared")
        return
    flows: dict[str, Any] = {}
    for scheme in oauth:
        flows.update(scheme.get("flows", {}))
        if not scheme.get("description"):
            yield Defect("securitySchemes", "no-description", "the OAuth2 scheme has no text")
    for flow in ("password", "clientCredentials"):
        if flow not in flows:
            yield Defect("securitySchemes", f"no-{flow}-flow", f"no OAuth2 {flow} flow")
        elif flows[flow].get("tokenUrl") != TOKEN_URL:
            yield Defect("securitySchemes", f"{flow}-token-url", f"tokenUrl is not {TOKEN_URL}")
    scopes = flows.get("clientCredentials", {}).get("scopes", {})
    if "clientCredentials" in flows and not scopes:
        yield Defect(
            "securitySchemes", "no-client-scopes", "the client-credentials flow lists no scopes"
        )
    for scope, text in scopes.items():
        if not text:
            yield Defect("securitySchemes", "scope-without-description", scope)


# --------------------------------------------------------------------------- operations


def _operations(doc: dict[str, Any]) -> Iterator[Defect]:
    declared_tags = {t.get("name") for t in doc.get("tags", [])}
    seen: dict[str, str] = {}
    for method, path, op in operations(doc):
        label = f"{method} {path}"
        op_id = op.get("operationId")
        where = f"operation {op_id or label}"
        if not op_id:
            yield Defect(where, "no-operation-id", label)
        else:
            if not OPERATION_ID.match(op_id):
                yield Defect(where, "unreadable-operation-id", "use lower-case `area-verb`")
            if op_id in seen:
                yield Defect(where, "duplicate-operation-id", f"also {seen[op_id]}")
            seen[op_id] = label
        for field in ("summary", "description"):
            if not (op.get(field) or "").strip():
                yield Defect(where, f"no-{field}", label)
        tags = op.get("tags") or []
        if not tags:
            yield Defect(where, "no-tag", label)
        for tag in tags:
            if tag not in declared_tags:
                yield Defect(where, "undeclared-tag", f"`{tag}` is not in the document's tags")
        yield from _parameters(doc, where, op)
        yield from _body(doc, where, op)
        yield from _responses(doc, where, path, op)
        secured = bool(op.get("security"))
        if not secured and op_id not in PUBLIC:
            yield Defect(where, "no-security", "not public, yet no security requirement")


def _parameters(doc: dict[str, Any], where: str, op: dict[str, Any]) -> Iterator[Defect]:
    for param in op.get("parameters", []):
        param = resolve(doc, param)
        name = f"{param.get('in')}.{param.get('name')}"
        if not (param.get("description") or "").strip():
            yield Defect(where, "parameter-without-description", name)
        schema = param.get("schema", {})
        yield from _walk(doc, f"{where} {name}", schema, param.get("description"), top=False)


def _body(doc: dict[str, Any], where: str, op: dict[str, Any]) -> Iterator[Defect]:
    body = op.get("requestBody")
    if not body:
        return
    body = resolve(doc, body)
    for media, content in body.get("content", {}).items():
        schema = content.get("schema", {})
        examples: list[Any] = []
        if "example" in content:
            examples.append(content["example"])
        examples += [
            resolve(doc, e).get("value") for e in content.get("examples", {}).values() if e
        ]
        target = resolve(doc, schema)
        if not examples:
            examples = list(target.get("examples") or [])
            if "example" in target:
                examples.append(target["example"])
        if not examples and media in NO_EXAMPLE_MEDIA:
            continue
        if not examples:
            yield Defect(where, "request-body-without-example", media)
            continue
        if media.endswith("json"):
            try:
                validator = _validator(doc, schema)
            except Exception as exc:  # a schema jsonschema cannot compile: reported as such
                yield Defect(where, "request-body-schema-invalid", str(exc)[:200])
                continue
            for i, example in enumerate(examples):
                errors = [e.message for e in validator.iter_errors(example)]
                if errors:
                    yield Defect(
                        where, "request-body-example-invalid", f"example {i}: {errors[0][:200]}"
                    )
        yield from _walk(doc, f"{where} body", schema, None, top=False)


def _responses(doc: dict[str, Any], where: str, path: str, op: dict[str, Any]) -> Iterator[Defect]:
    responses = op.get("responses", {})
    errors = [s for s in responses if s[0] in "45" or s == "default"]
    if path.startswith("/api/") and not errors:
        yield Defect(where, "no-error-responses", "declare what can go wrong")
    if op.get("security") and "401" not in responses:
        yield Defect(where, "no-401", "a secured operation can answer 401")
    for status, resp in responses.items():
        resp = resolve(doc, resp)
        if not (resp.get("description") or "").strip():
            yield Defect(where, "response-without-description", status)
        content = resp.get("content", {})
        # The OAuth2 token endpoint answers its 400/401 as RFC 6749 §5.2 has it.
        oauth = op.get("operationId") == "auth-token" and status in ("400", "401")
        if status in errors and path.startswith("/api/") and not oauth:
            schema = content.get(PROBLEM_JSON, {}).get("schema", {})
            if schema.get("$ref") != PROBLEM_REF:
                yield Defect(where, "error-not-problem-json", f"{status} is not {PROBLEM_JSON}")
            others = sorted(set(content) - {PROBLEM_JSON})
            if others:
                yield Defect(where, "error-other-media-types", f"{status}: {', '.join(others)}")
        elif status.startswith("2"):
            for media, mt in content.items():
                if "json" in media and not mt.get("schema"):
                    yield Defect(where, "success-without-schema", f"{status} {media}")
                elif "json" in media:
                    yield from _walk(doc, f"{where} {status}", mt["schema"], None, top=False)


# --------------------------------------------------------------------------- schemas


def _schemas(doc: dict[str, Any]) -> Iterator[Defect]:
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        if not (schema.get("description") or "").strip():
            yield Defect(f"schema {name}", "no-description", "the model has no docstring")
        yield from _walk(doc, f"schema {name}", schema, schema.get("description"), top=True)


def _walk(
    doc: dict[str, Any], where: str, node: Any, described: str | None, top: bool
) -> Iterator[Defect]:
    """Properties and enums inside one schema node (not following $ref: components are
    checked on their own)."""
    if not isinstance(node, dict) or ("$ref" in node and len(node) == 1):
        return
    text = node.get("description") or described
    if "enum" in node:
        yield from _enum(where, node, text)
    if "const" in node and not text:
        yield Defect(where, "const-without-description", repr(node["const"]))
    for name, prop in (node.get("properties") or {}).items():
        here = f"{where}.{name}"
        if not isinstance(prop, dict):
            continue
        if not (prop.get("description") or "").strip():
            yield Defect(here, "property-without-description", "add Field(description=...)")
        yield from _walk(doc, here, prop, prop.get("description"), top=False)
    if isinstance(node.get("items"), dict):
        yield from _walk(doc, f"{where}[]", node["items"], text, top=False)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(doc, f"{where}{{}}", node["additionalProperties"], text, top=False)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            yield from _walk(doc, where, sub, text, top=False)


def _enum(where: str, node: dict[str, Any], text: str | None) -> Iterator[Defect]:
    values = [v for v in node["enum"] if v is not None]
    if not text:
        yield Defect(where, "enum-without-description", "describe the enum and each value")
        return
    labels = node.get("x-enum-descriptions")
    if isinstance(labels, dict):
        missing = [v for v in values if not labels.get(str(v))]
    else:
        missing = [v for v in values if f"`{v}`" not in text]
    if missing:
        yield Defect(
            where,
            "enum-value-without-description",
            "describe each value as `- `value`: meaning` (LabelledEnum + @labelled does it): "
            + ", ".join(map(str, missing)),
        )


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    root = {**schema, "components": doc.get("components", {})}
    return jsonschema_rs.Draft202012Validator(root)


def _input_numbers(doc: dict[str, Any]) -> Iterator[Defect]:
    """Integers and numbers in parameters and request bodies (following $ref): both bounds,
    integers within what a PostgreSQL `integer` holds (a larger one was a 500)."""
    for method, path, op in operations(doc):
        where = f"operation {op.get('operationId') or method + ' ' + path}"
        for param in op.get("parameters", []):
            param = resolve(doc, param)
            name = f"{param.get('in')}.{param.get('name')}"
            yield from _numbers(doc, where, name, param.get("schema", {}), set())
        body = resolve(doc, op.get("requestBody") or {})
        for content in body.get("content", {}).values():
            yield from _numbers(doc, where, "body", content.get("schema", {}), set())


def _numbers(
    doc: dict[str, Any], where: str, field: str, node: Any, seen: set[str]
) -> Iterator[Defect]:
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in seen:
            return
        seen = {*seen, ref}
        node = resolve(doc, node)
    if node.get("type") in ("integer", "number"):
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        if low is None or high is None:
            yield Defect(where, "unbounded-number", f"{field}: give it ge= and le=")
        elif node["type"] == "integer" and (high > INT32_MAX or low < -INT32_MAX - 1):
            yield Defect(where, "number-beyond-integer", f"{field}: within ±{INT32_MAX}")
    for name, prop in (node.get("properties") or {}).items():
        yield from _numbers(doc, where, f"{field}.{name}", prop, seen)
    for key in ("items", "additionalProperties"):
        yield from _numbers(doc, where, f"{field}[]", node.get(key), seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            yield from _numbers(doc, where, field, sub, seen)


# --------------------------------------------------------------------------- where to fix


def locate(doc: dict[str, Any], defect: Defect) -> str:
    """The source file defining the offending route or schema, for the report."""
    where = defect.where
    if where.startswith("operation "):
        op_id = where.split()[1]
        return _route_files().get(op_id, "?")
    if where.startswith("schema "):
        name = where.split()[1].split(".")[0].split("[")[0]
        if name.startswith("Body_"):  # FastAPI's schema of an operation's form fields
            return _route_files().get(name[5:], "?")
        return _class_files().get(_model_name(name), "?")
    return "services/api/mediation_api/main.py"


def _model_name(component: str) -> str:
    if component.startswith("Page_"):
        return "Page"
    return component


_ROUTES: dict[str, str] = {}
_CLASSES: dict[str, str] = {}


def _route_files() -> dict[str, str]:
    if not _ROUTES:
        import inspect

        from fastapi.routing import APIRoute, iter_route_contexts

        from mediation_api.main import create_app

        for context in iter_route_contexts(create_app().routes):
            route = context.original_route
            if isinstance(route, APIRoute) and route.operation_id:
                file = inspect.getsourcefile(route.endpoint) or "?"
                line = inspect.getsourcelines(route.endpoint)[1]
                _ROUTES[route.operation_id] = f"{Path(file).relative_to(ROOT)}:{line}"
    return _ROUTES


def _class_files() -> dict[str, str]:
    if not _CLASSES:
        for folder in ("shared", "services"):
            for file in sorted((ROOT / folder).rglob("*.py")):
                for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
                    m = re.match(r"class (\w+)\b", line)
                    if m and m.group(1) not in _CLASSES:
                        _CLASSES[m.group(1)] = f"{file.relative_to(ROOT)}:{n}"
    return _CLASSES


def main() -> int:
    from mediation_api.openapi import document

    doc = document()
    defects = check(doc)
    for defect in defects:
        print(f"{locate(doc, defect)}\t{defect}")
    print(f"{len(defects)} defects", file=sys.stderr)
    return 1 if defects else 0


if __name__ == "__main__":
    raise SystemExit(main())
