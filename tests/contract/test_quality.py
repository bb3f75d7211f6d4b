"""The OpenAPI document as a product: the quality rules of tests/contract/quality.py hold for
what the app serves; and the rules themselves catch what they should."""

from __future__ import annotations

import copy
from typing import Any

from tests.contract import expand_shared, served
from tests.contract.quality import check, locate


def test_the_served_contract_meets_the_quality_rules() -> None:
    doc = served()
    defects = check(doc)
    if defects:
        lines = [f"  {locate(doc, d)}  {d}" for d in defects]
        raise AssertionError(
            f"{len(defects)} OpenAPI quality defects (`make contract-lint` lists them):\n"
            + "\n".join(lines)
        )


def test_operation_ids_are_stable_and_readable() -> None:
    doc = served()
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert "cases-create" in ids and "auth-token" in ids


def test_security_offers_password_and_client_credentials() -> None:
    doc = expand_shared(served())
    flows = doc["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert flows["clientCredentials"]["tokenUrl"] == "/api/v1/auth/token"
    assert "cases:create" in flows["clientCredentials"]["scopes"]
    create = doc["paths"]["/api/v1/cases"]["post"]
    assert create["security"] == [{"oauth2": ["cases:create"]}]
    for status in ("400", "401", "413", "429"):
        assert status in create["responses"], status
    assert "Retry-After" in create["responses"]["429"]["headers"]


# --------------------------------------------------------------------------- the rules


def _good() -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1", "description": "d"},
        "tags": [{"name": "cases", "description": "Cases."}],
        "paths": {
            "/api/v1/cases": {
                "post": {
                    "operationId": "cases-create",
                    "summary": "Register",
                    "description": "Registers a case.",
                    "tags": ["cases"],
                    "security": [{"oauth2": ["cases:create"]}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "description": "A key.",
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/In"}}
                        }
                    },
                    "responses": {
                        "201": {
                            "description": "Created.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Status"}
                                }
                            },
                        },
                        "401": {"description": "Sign in.", "content": problem},
                    },
                }
            }
        },
        "components": {
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "description": "Sign in.",
                    "flows": {
                        "password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}},
                        "clientCredentials": {
                            "tokenUrl": "/api/v1/auth/token",
                            "scopes": {"cases:create": "Register cases."},
                        },
                    },
                }
            },
            "schemas": {
                "Problem": {"description": "A problem.", "type": "object"},
                "Status": {
                    "description": "Status.\n\n- `open`: 开\n- `closed`: 关",
                    "enum": ["open", "closed"],
                },
                "In": {
                    "description": "A new case.",
                    "type": "object",
                    "required": ["title"],
                    "properties": {"title": {"type": "string", "description": "Title."}},
                    "examples": [{"title": "漏水"}],
                },
            },
        },
    }


def _rules(doc: dict[str, Any]) -> list[str]:
    return [f"{d.where}: {d.rule}" for d in check(doc)]


def test_a_good_document_has_no_defects() -> None:
    assert _rules(_good()) == []


def test_the_rules_catch_each_defect() -> None:
    op = ("paths", "/api/v1/cases", "post")
    cases: list[tuple[Any, str]] = [
        (
            lambda d: d["components"]["schemas"]["In"].pop("description"),
            "schema In: no-description",
        ),
        (
            lambda d: d["components"]["schemas"]["In"]["properties"]["title"].pop("description"),
            "schema In.title: property-without-description",
        ),
        (
            lambda d: d["components"]["schemas"]["Status"].update(description="Status."),
            "schema Status: enum-value-without-description",
        ),
        (
            lambda d: d["components"]["schemas"]["In"].pop("examples"),
            "operation cases-create: request-body-without-example",
        ),
        (
            lambda d: d["components"]["schemas"]["In"].update(examples=[{"name": 1}]),
            "operation cases-create: request-body-example-invalid",
        ),
        (
            lambda d: _at(d, op).pop("description"),
            "operation cases-create: no-description",
        ),
        (
            lambda d: _at(d, op).update(operationId="createCase"),
            "operation createCase: unreadable-operation-id",
        ),
        (lambda d: _at(d, op).update(tags=["other"]), "operation cases-create: undeclared-tag"),
        (
            lambda d: _at(d, op)["parameters"][0].pop("description"),
            "operation cases-create: parameter-without-description",
        ),
        (
            lambda d: _at(d, op)["responses"]["401"].update(
                content={"application/json": {"schema": {}}}
            ),
            "operation cases-create: error-not-problem-json",
        ),
        (lambda d: _at(d, op)["responses"].pop("401"), "operation cases-create: no-401"),
        (lambda d: _at(d, op).pop("security"), "operation cases-create: no-security"),
        (
            lambda d: d["components"]["securitySchemes"]["oauth2"]["flows"].pop(
                "clientCredentials"
            ),
            "securitySchemes: no-clientCredentials-flow",
        ),
        (
            lambda d: _at(d, op)["requestBody"]["content"]["application/json"].update(
                schema={"$ref": "#/components/schemas/Missing"}
            ),
            "operation cases-create: dangling-ref",
        ),
        (
            lambda d: d["components"]["schemas"]["In"]["properties"].update(
                count={"type": "integer", "minimum": 0, "description": "Count."}
            ),
            "operation cases-create: unbounded-number",
        ),
        (
            lambda d: _at(d, op)["parameters"][0].update(
                schema={"type": "integer", "minimum": 1, "maximum": 2**31}
            ),
            "operation cases-create: number-beyond-integer",
        ),
    ]
    for edit, expected in cases:
        doc = copy.deepcopy(_good())
        edit(doc)
        assert expected in _rules(doc), (expected, _rules(doc))


def _at(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = doc
    for part in path:
        node = node[part]
    return node
