"""Breaking changes between two OpenAPI documents, as stable keys a changelog can record.

A change breaks a client written against the old document when it removes or renames an
operation, a parameter, a schema, a field or an enum value; when a request gains a required
field or parameter, or an optional one becomes required; when a response field stops being
always present; or when a field's type changes in the direction a client notices (a request
field accepting fewer types, a response field giving more).

Each change has a key such as `field-removed CaseOut.title`. A breaking change is intended
when docs/contract-changelog.md names its key in backticks under a "Breaking" heading.

The old documents (`references`): `contract/baseline.json`, the contract as last released,
and the `openapi.json` of the previous commit in git (HEAD when the served document differs
from the committed one, else HEAD~1), once that commit tracks the contract (holds the
baseline). `CONTRACT_BASE_REF=origin/main` compares with the merge base instead.

`python -m tests.contract.breaking [OLD.json [NEW.json]]` prints the changes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.contract import expand_shared

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "contract" / "baseline.json"
CHANGELOG = ROOT / "docs" / "contract-changelog.md"
DOCUMENT = "openapi.json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@dataclass(frozen=True, order=True)
class Change:
    kind: str
    where: str
    detail: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind} {self.where}"

    def __str__(self) -> str:
        return f"`{self.key}`" + (f" ({self.detail})" if self.detail else "")


# --------------------------------------------------------------------------- facts


@dataclass
class Field:
    required: bool
    types: frozenset[str]
    enum: frozenset[str] | None


def _types(node: Any) -> set[str]:
    """The JSON types and schema references a node accepts (anyOf/oneOf flattened)."""
    if not isinstance(node, dict):
        return set()
    out: set[str] = set()
    if "$ref" in node:
        out.add("ref:" + node["$ref"].rsplit("/", 1)[-1])
    t = node.get("type")
    if isinstance(t, str):
        out.add(t)
    elif isinstance(t, list):
        out.update(t)
    if "const" in node:
        out.add("const:" + json.dumps(node["const"]))
    for key in ("anyOf", "oneOf"):
        for sub in node.get(key) or []:
            out |= _types(sub)
    for sub in node.get("allOf") or []:
        out |= _types(sub)
    if not out and "enum" in node:
        out.add("enum")
    return out


def _enum(node: Any) -> set[str] | None:
    if not isinstance(node, dict):
        return None
    values: set[str] | None = None
    if "enum" in node:
        values = {json.dumps(v, ensure_ascii=False) for v in node["enum"]}
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            sub_values = _enum(sub)
            if sub_values is not None:
                values = (values or set()) | sub_values
    return values


def _fields(
    node: Any,
    where: str,
    required: bool,
    out: dict[str, Field],
    schemas: dict[str, Any] | None = None,
) -> None:
    """Every property below `node` (not following $ref, but for the bases an `allOf` extends:
    their fields are the schema's own), keyed by its dotted path."""
    if not isinstance(node, dict):
        return
    enum = _enum(node)
    out[where] = Field(
        required=required,
        types=frozenset(_types(node)),
        enum=frozenset(enum) if enum is not None else None,
    )
    subs = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        subs += node.get(key) or []
    subs += _bases(node, schemas or {}, set())
    for sub in subs:
        if not isinstance(sub, dict):
            continue
        needed = set(sub.get("required") or [])
        for name, prop in (sub.get("properties") or {}).items():
            _fields(prop, f"{where}.{name}", name in needed, out)
        if isinstance(sub.get("items"), dict):
            _fields(sub["items"], f"{where}[]", True, out)
        if isinstance(sub.get("additionalProperties"), dict):
            _fields(sub["additionalProperties"], f"{where}{{}}", True, out)


def _bases(node: dict[str, Any], schemas: dict[str, Any], seen: set[str]) -> list[Any]:
    """The component schemas `node` extends through `allOf`, and theirs."""
    found: list[Any] = []
    for base in node.get("allOf") or []:
        name = _component(base)
        if name is None or name in seen or not isinstance(schemas.get(name), dict):
            continue
        seen.add(name)
        found += [schemas[name], *(schemas[name].get("allOf") or [])]
        found += _bases(schemas[name], schemas, seen)
    return found


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/components/schemas/"):
            yield node["$ref"].rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _closure(doc: dict[str, Any], roots: set[str]) -> set[str]:
    schemas = doc.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_refs(schemas.get(name, {})))
    return seen


def _operations(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId (or `METHOD path`) → (method, path, operation)."""
    out = {}
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS and isinstance(op, dict):
                out[op.get("operationId") or f"{method.upper()} {path}"] = (method, path, op)
    return out


def _usage(doc: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Component schemas reachable from requests (input) and from responses (output)."""
    inputs: set[str] = set()
    outputs: set[str] = set()
    for _, _, op in _operations(doc).values():
        inputs |= set(_refs(op.get("parameters", []))) | set(_refs(op.get("requestBody", {})))
        outputs |= set(_refs(op.get("responses", {})))
    return _closure(doc, inputs), _closure(doc, outputs)


# --------------------------------------------------------------------------- the diff


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The breaking changes from `old` to `new`, sorted."""
    # Moving a piece into `components` is no change.
    old, new = expand_shared(old), expand_shared(new)
    changes: list[Change] = []
    changes += _diff_operations(old, new)
    changes += _diff_schemas(old, new)
    return sorted(set(changes))


def _diff_operations(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    old_ops, new_ops = _operations(old), _operations(new)
    by_route = {(m, p): op_id for op_id, (m, p, _) in new_ops.items()}
    for op_id, (method, path, op) in old_ops.items():
        label = f"{method.upper()} {path}"
        if op_id not in new_ops:
            renamed = by_route.get((method, path))
            if renamed:
                yield Change("operation-renamed", op_id, f"now `{renamed}`")
                new_op = new_ops[renamed][2]
            else:
                yield Change("operation-removed", op_id, label)
                continue
        else:
            new_method, new_path, new_op = new_ops[op_id]
            if (new_method, new_path) != (method, path):
                yield Change("operation-moved", op_id, f"{label} → {new_method.upper()} {new_path}")
        yield from _diff_parameters(old, new, op_id, op, new_op)
        yield from _diff_bodies(old, new, op_id, op, new_op)
        old_ok = {s for s in op.get("responses", {}) if s.startswith("2")}
        new_ok = {s for s in new_op.get("responses", {}) if s.startswith("2")}
        for status in sorted(old_ok - new_ok):
            yield Change("response-removed", f"{op_id} {status}")
        for status in sorted(old_ok & new_ok):
            old_media = set(op["responses"][status].get("content", {}))
            new_media = set(new_op["responses"][status].get("content", {}))
            for media in sorted(old_media - new_media):
                yield Change("response-media-type-removed", f"{op_id} {status} {media}")
            for media in sorted(old_media & new_media):
                o = op["responses"][status]["content"][media].get("schema", {})
                n = new_op["responses"][status]["content"][media].get("schema", {})
                o, n = _inlined(old, new, o, n)
                yield from _diff_inline(f"{op_id} {status}", o, n, output=True)


def _params(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for param in op.get("parameters", []):
        if "$ref" in param:
            param = doc["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
        name = param["name"].lower() if param.get("in") == "header" else param["name"]
        out[f"{param.get('in')}.{name}"] = param
    return out


def _diff_parameters(
    old: dict[str, Any], new: dict[str, Any], op_id: str, op: dict[str, Any], new_op: dict[str, Any]
) -> Iterator[Change]:
    old_params, new_params = _params(old, op), _params(new, new_op)
    for name, param in old_params.items():
        where = f"{op_id} {name}"
        if name not in new_params:
            yield Change("parameter-removed", where)
            continue
        now = new_params[name]
        if now.get("required") and not param.get("required"):
            yield Change("parameter-required", where)
        old_schema, new_schema = _inlined(old, new, param.get("schema", {}), now.get("schema", {}))
        old_schema, new_schema = _no_null(old_schema), _no_null(new_schema)
        yield from _diff_inline(where, old_schema, new_schema, output=False)
    for name, param in new_params.items():
        if name not in old_params and param.get("required"):
            yield Change("parameter-added-required", f"{op_id} {name}")


def _no_null(schema: Any) -> Any:
    """A parameter's schema without a `null` member: a query string or a header cannot carry
    JSON null (a client leaves the parameter out), so declaring it or not is no change."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if isinstance(out.get("type"), list):
        out["type"] = [t for t in out["type"] if t != "null"]
    if isinstance(out.get("anyOf"), list):
        out["anyOf"] = [m for m in out["anyOf"] if m != {"type": "null"}]
    return out


def _diff_bodies(
    old: dict[str, Any], new: dict[str, Any], op_id: str, op: dict[str, Any], new_op: dict[str, Any]
) -> Iterator[Change]:
    before, after = op.get("requestBody"), new_op.get("requestBody")
    if after and not before and after.get("required"):
        yield Change("request-body-added-required", op_id)
    if not before:
        return
    if not after:
        yield Change("request-body-removed", op_id)
        return
    if after.get("required") and not before.get("required"):
        yield Change("request-body-required", op_id)
    for media, content in before.get("content", {}).items():
        if media not in after.get("content", {}):
            yield Change("request-media-type-removed", f"{op_id} {media}")
            continue
        was, now = _inlined(old, new, content.get("schema", {}), after["content"][media]["schema"])
        yield from _diff_inline(f"{op_id} body", was, now, output=False)


SCHEMA_REF = "#/components/schemas/"


def _component(node: Any) -> str | None:
    """The component schema a lone `$ref` names, else None."""
    ref = node.get("$ref") if isinstance(node, dict) and len(node) == 1 else None
    return ref[len(SCHEMA_REF) :] if isinstance(ref, str) and ref.startswith(SCHEMA_REF) else None


def _inlined(
    old_doc: dict[str, Any], new_doc: dict[str, Any], old: Any, new: Any
) -> tuple[Any, Any]:
    """An operation's schema written inline on one side and as a reference to a component
    schema on the other (or to components of other names): both are read inline, so moving a
    schema into components (or renaming its component) is no change by itself."""
    old_name, new_name = _component(old), _component(new)
    # A side that references the same component (perhaps with `null`) is compared as it is.
    if old_name is not None and f"ref:{old_name}" not in _types(new):
        old = old_doc.get("components", {}).get("schemas", {}).get(old_name, old)
    if new_name is not None and f"ref:{new_name}" not in _types(old):
        new = new_doc.get("components", {}).get("schemas", {}).get(new_name, new)
    return old, new


def _diff_inline(where: str, old: Any, new: Any, output: bool) -> Iterator[Change]:
    """An inline schema (of a parameter, a body or a response): compared like a field."""
    old_fields: dict[str, Field] = {}
    new_fields: dict[str, Field] = {}
    _fields(old, where, True, old_fields)
    _fields(new, where, True, new_fields)
    yield from _diff_fields(old_fields, new_fields, inputs=not output, outputs=output)


def _diff_schemas(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    inputs, outputs = _usage(new)
    old_inputs, old_outputs = _usage(old)
    for name, schema in old_schemas.items():
        if name not in new_schemas:
            yield Change("schema-removed", name)
            continue
        old_fields: dict[str, Field] = {}
        new_fields: dict[str, Field] = {}
        _fields(schema, name, True, old_fields, old_schemas)
        _fields(new_schemas[name], name, True, new_fields, new_schemas)
        yield from _diff_fields(
            old_fields,
            new_fields,
            inputs=name in inputs or name in old_inputs,
            outputs=name in outputs or name in old_outputs,
        )


def _parent(where: str) -> str | None:
    if where.endswith(("[]", "{}")):
        return where[:-2]
    return where.rsplit(".", 1)[0] if "." in where else None


def _diff_fields(
    old: dict[str, Field], new: dict[str, Field], inputs: bool, outputs: bool
) -> Iterator[Change]:
    for where, before in old.items():
        after = new.get(where)
        if after is None:
            parent = _parent(where)
            if parent is None or parent in new:  # report the top-most removal only
                yield Change("field-removed", where)
            continue
        if inputs and after.required and not before.required:
            yield Change("field-required", where)
        if outputs and before.required and not after.required:
            yield Change("field-optional", where, "responses may leave it out")
        if before.enum is not None and after.enum is not None:
            for value in sorted(before.enum - after.enum):
                yield Change("enum-value-removed", f"{where}={json.loads(value)}")
        elif before.enum is not None and outputs:
            yield Change("enum-dropped", where, "responses may hold any value now")
        if before.types and after.types and before.types != after.types:
            lost = before.types - after.types
            gained = after.types - before.types
            if (inputs and lost) or (outputs and gained):
                detail = f"{'|'.join(sorted(before.types))} → {'|'.join(sorted(after.types))}"
                yield Change("type-changed", where, detail)
    if inputs:
        for where, after in new.items():
            parent = _parent(where)
            if where not in old and after.required and parent in old:
                yield Change("field-added-required", where)


# --------------------------------------------------------------------------- references


@dataclass
class Reference:
    label: str
    doc: dict[str, Any]


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _tracks_contract(rev: str) -> bool:
    return _git("cat-file", "-e", f"{rev}:contract/baseline.json") is not None


def _at(rev: str) -> dict[str, Any] | None:
    text = _git("show", f"{rev}:{DOCUMENT}")
    return json.loads(text) if text else None


def git_reference(served: dict[str, Any]) -> Reference | None:
    """The previous contract in git, or None (no git, or the contract was not tracked yet)."""
    if _git("rev-parse", "--is-inside-work-tree") is None:
        return None
    base = os.environ.get("CONTRACT_BASE_REF")
    if base:
        merge_base = (_git("merge-base", "HEAD", base) or "").strip()
        if not merge_base:
            raise RuntimeError(f"CONTRACT_BASE_REF={base}: no merge base with HEAD")
        revs = [merge_base]
    else:
        head = _at("HEAD")
        revs = ["HEAD"] if head is not None and head != served else ["HEAD~1"]
    for rev in revs:
        if _git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}") is None:
            return None
        if not _tracks_contract(rev):
            return None
        doc = _at(rev)
        if doc is not None:
            sha = (_git("rev-parse", "--short", rev) or rev).strip()
            return Reference(f"git {rev} ({sha}):{DOCUMENT}", doc)
    return None


def references(served: dict[str, Any]) -> list[Reference]:
    refs = []
    if BASELINE.exists():
        refs.append(
            Reference("contract/baseline.json", json.loads(BASELINE.read_text(encoding="utf-8")))
        )
    git = git_reference(served)
    if git is not None:
        refs.append(git)
    return refs


def recorded(changelog: str | None = None) -> set[str]:
    """Keys the changelog names in backticks under a `Breaking` heading."""
    text = changelog if changelog is not None else CHANGELOG.read_text(encoding="utf-8")
    keys: set[str] = set()
    breaking = False
    for line in text.splitlines():
        if line.startswith("#"):
            breaking = "breaking" in line.lower()
        elif breaking:
            keys |= {m.strip() for m in re.findall(r"`([^`\n]+)`", line)}
    return keys


def unrecorded(served: dict[str, Any]) -> dict[str, list[Change]]:
    """Per reference, the breaking changes the changelog does not record."""
    known = recorded()
    out = {}
    for ref in references(served):
        missing = [c for c in diff(ref.doc, served) if c.key not in known]
        if missing:
            out[ref.label] = missing
    return out


def main(argv: list[str]) -> int:
    if len(argv) >= 2:
        old = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
        new = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        pairs = [(argv[0], old, new)]
    else:
        from mediation_api.openapi import document

        new = document()
        if argv:
            pairs = [(argv[0], json.loads(Path(argv[0]).read_text(encoding="utf-8")), new)]
        else:
            pairs = [(r.label, r.doc, new) for r in references(new)]
    known = recorded()
    status = 0
    for label, old, new in pairs:
        changes = diff(old, new)
        print(f"against {label}: {len(changes)} breaking change(s)")
        for change in changes:
            mark = "recorded" if change.key in known else "NOT RECORDED"
            print(f"  {change}  [{mark}]")
            status |= change.key not in known
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
