"""The breaking-change check: the served contract against the last release
(contract/baseline.json) and the previous commit; and the diff rules themselves."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.contract import breaking
from tests.contract import served as served_document
from tests.contract.breaking import diff, recorded


def test_no_unrecorded_breaking_change() -> None:
    served = served_document()
    refs = breaking.references(served)
    assert refs, "no previous contract: contract/baseline.json is missing"
    missing = breaking.unrecorded(served)
    if missing:
        lines = []
        for label, changes in missing.items():
            lines.append(f"against {label}:")
            lines += [f"  {c}" for c in changes]
        raise AssertionError(
            "breaking changes to the contract that docs/contract-changelog.md does not record "
            "as intended (add each key in backticks under **Breaking** in the unreleased "
            "section, with the reason and what clients do instead — or keep the old "
            "shape):\n" + "\n".join(lines)
        )


def test_the_baseline_is_a_released_contract() -> None:
    baseline = json.loads(breaking.BASELINE.read_text(encoding="utf-8"))
    assert baseline["openapi"].startswith("3.")
    version = baseline["info"]["version"]
    text = breaking.CHANGELOG.read_text(encoding="utf-8")
    assert f"## {version} " in text, f"the changelog has no section for baseline {version}"


# --------------------------------------------------------------------------- the rules


def _doc() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/cases": {
                "get": {
                    "operationId": "cases-list",
                    "parameters": [
                        {
                            "name": "status",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "anyOf": [{"$ref": "#/components/schemas/Status"}, {"type": "null"}]
                            },
                        },
                        {
                            "name": "If-Match",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Out"}}
                            },
                        }
                    },
                },
                "post": {
                    "operationId": "cases-create",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/In"}}
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "ok",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Out"}}
                            },
                        }
                    },
                },
            }
        },
        "components": {
            "schemas": {
                "Status": {"type": "string", "enum": ["open", "closed"]},
                "In": {
                    "type": "object",
                    "required": ["title"],
                    "properties": {
                        "title": {"type": "string"},
                        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        "parties": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "phone": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "Out": {
                    "type": "object",
                    "required": ["id", "status", "title"],
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"$ref": "#/components/schemas/Status"},
                        "title": {"type": "string"},
                        "closed_at": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                },
            }
        },
    }


def _keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [c.key for c in diff(old, new)]


def test_identical_and_additive_changes_are_not_breaking() -> None:
    old = _doc()
    new = copy.deepcopy(old)
    assert _keys(old, new) == []
    s = new["components"]["schemas"]
    s["Status"]["enum"].append("archived")  # a new enum value
    s["Out"]["properties"]["number"] = {"type": "string"}  # a new response field
    s["In"]["properties"]["tags"] = {"type": "array", "items": {"type": "string"}}  # optional
    new["paths"]["/cases"]["get"]["parameters"].append(
        {"name": "q", "in": "query", "required": False, "schema": {"type": "string"}}
    )
    new["paths"]["/units"] = {"get": {"operationId": "units-list", "responses": {}}}
    s["In"]["properties"]["title"] = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert _keys(old, new) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["paths"]["/cases"].pop("get"), ["operation-removed cases-list"]),
        (
            lambda d: d["paths"]["/cases"]["get"].update(operationId="cases-search"),
            ["operation-renamed cases-list"],
        ),
        (
            lambda d: d["paths"].update({"/v2/cases": d["paths"].pop("/cases")}),
            ["operation-moved cases-create", "operation-moved cases-list"],
        ),
        (
            lambda d: d["components"]["schemas"]["Out"]["properties"].pop("title"),
            ["field-removed Out.title"],
        ),
        (
            lambda d: d["components"]["schemas"]["In"]["properties"]["parties"]["items"][
                "properties"
            ].pop("phone"),
            ["field-removed In.parties[].phone"],
        ),
        (
            lambda d: d["components"]["schemas"]["In"]["required"].append("note"),
            ["field-required In.note"],
        ),
        (
            lambda d: d["components"]["schemas"]["In"]["properties"]["parties"]["items"][
                "required"
            ].append("phone"),
            ["field-required In.parties[].phone"],
        ),
        (
            lambda d: (
                d["components"]["schemas"]["In"]["properties"].update(age={"type": "integer"}),
                d["components"]["schemas"]["In"]["required"].append("age"),
            ),
            ["field-added-required In.age"],
        ),
        (
            lambda d: d["components"]["schemas"]["Out"]["required"].remove("title"),
            ["field-optional Out.title"],
        ),
        (
            lambda d: d["components"]["schemas"]["Status"]["enum"].remove("closed"),
            ["enum-value-removed Status=closed"],
        ),
        (
            lambda d: d.update(json.loads(json.dumps(d).replace('Status"', 'State"'))),
            [
                "schema-removed Status",
                "type-changed Out.status",
                "type-changed cases-list query.status",
            ],
        ),
        (
            lambda d: d["components"]["schemas"]["In"]["properties"].update(
                title={"type": "integer"}
            ),
            ["type-changed In.title"],
        ),
        (
            lambda d: d["components"]["schemas"]["Out"]["properties"].update(
                title={"anyOf": [{"type": "string"}, {"type": "null"}]}
            ),
            ["type-changed Out.title"],
        ),
        (
            lambda d: d["paths"]["/cases"]["get"]["parameters"].pop(0),
            ["parameter-removed cases-list query.status"],
        ),
        (
            lambda d: d["paths"]["/cases"]["get"]["parameters"][1].update(required=True),
            ["parameter-required cases-list header.if-match"],
        ),
        (
            lambda d: d["paths"]["/cases"]["get"]["parameters"].append(
                {"name": "year", "in": "query", "required": True, "schema": {"type": "integer"}}
            ),
            ["parameter-added-required cases-list query.year"],
        ),
        (
            lambda d: d["paths"]["/cases"]["post"]["responses"].update(
                {"200": d["paths"]["/cases"]["post"]["responses"].pop("201")}
            ),
            ["response-removed cases-create 201"],
        ),
    ],
)
def test_breaking_changes_are_found(edit: Any, expected: list[str]) -> None:
    old = _doc()
    new = copy.deepcopy(old)
    edit(new)
    assert _keys(old, new) == expected


def test_the_changelog_records_keys_in_backticks_under_breaking() -> None:
    text = (
        "## Unreleased\n### Changed\n- `field-removed Out.name` was merged into `title`.\n"
        "### Breaking\n- `field-removed Out.title`: use `name`.\n## 1.0.0\n"
    )
    assert "field-removed Out.title" in recorded(text)
    assert "field-removed Out.name" not in recorded(text)


def test_moving_a_schema_into_components_is_no_change() -> None:
    """A body written inline and the same body as a component schema (issue 19, item 4: the
    contract shares what routes repeat) are one contract; a change inside it still counts."""
    old = _doc()
    body = old["paths"]["/cases"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = old["components"]["schemas"].pop("In")
    new = copy.deepcopy(_doc())
    new["components"]["schemas"]["CaseForm"] = new["components"]["schemas"].pop("In")
    new["paths"]["/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/CaseForm"
    }
    assert _keys(old, new) == [] and _keys(new, old) == ["schema-removed CaseForm"]
    new["components"]["schemas"]["CaseForm"]["required"].append("note")
    assert _keys(old, new) == ["field-required cases-create body.note"]
