"""Pieces of what a reader sees of a case: parties masked unless the reader's role needs
personal data, prevention flags, the actions open to the reader. The whole case view is one
statement (`reads.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.cases import lifecycle
from mediation.cases.contracts import PartyOut, PreventionFlag
from mediation.cases.enums import (
    SESSION_EVENTS,
    CaseAction,
    CaseEventType,
    PartyKind,
    PreventionKind,
)
from mediation.cases.models import Case, CaseParty
from mediation.privacy import mask_id_number, mask_name, mask_phone

PREVENTION_COLUMNS: dict[PreventionKind, str] = {
    PreventionKind.criminal: "prevent_criminal",
    PreventionKind.group_petition: "prevent_group_petition",
    PreventionKind.suicide: "prevent_suicide",
    PreventionKind.group_fight: "prevent_group_fight",
}


def _mask_address(value: str | None) -> str | None:
    # Keep the coarse part (district, street) that staff need to route a case.
    return value if not value else value[:6] + "*" * max(0, min(len(value) - 6, 8))


PARTY_COLUMNS = (
    "id", "kind", "side", "name", "phone", "id_number", "org_code", "is_minor", "address",
    "guardian_name", "guardian_phone", "guardian_id_number", "guardian_relation",
)  # fmt: skip


def party_json(p: Mapping[str, Any], unmasked: bool) -> dict[str, Any]:
    """A party as `PartyOut`'s fields, in its order: personal data masked unless `unmasked`.
    The case view writes these straight to JSON (`reads.case_view_json`)."""
    org = p["kind"] == PartyKind.organisation
    guardian = (
        None
        if not p["guardian_name"]
        else {
            "name": p["guardian_name"] if unmasked else mask_name(p["guardian_name"]),
            "phone": p["guardian_phone"] if unmasked else mask_phone(p["guardian_phone"]),
            "id_number": p["guardian_id_number"]
            if unmasked
            else mask_id_number(p["guardian_id_number"]),
            "relation": p["guardian_relation"],
        }
    )
    return {
        "id": p["id"],
        "kind": p["kind"],
        "side": p["side"],
        # An organisation's name and address are not personal information.
        "name": p["name"] if unmasked or org else (mask_name(p["name"]) or ""),
        "phone": p["phone"] if unmasked else mask_phone(p["phone"]),
        "id_number": p["id_number"] if unmasked else mask_id_number(p["id_number"]),
        "org_code": p["org_code"],
        "is_minor": p["is_minor"],
        "guardian": guardian,
        "address": p["address"] if unmasked or org else _mask_address(p["address"]),
    }


def party_out(p: CaseParty, unmasked: bool) -> PartyOut:
    return PartyOut.model_validate(party_json({c: getattr(p, c) for c in PARTY_COLUMNS}, unmasked))


def prevention(case: Case) -> list[PreventionFlag]:
    return [
        PreventionFlag(kind=k, people=getattr(case, col))
        for k, col in PREVENTION_COLUMNS.items()
        if getattr(case, col)
    ]


def available_actions(case: Case, principal: Principal) -> list[CaseAction]:
    is_handler = principal.person_id is not None and principal.person_id in case.handler_person_ids
    return [
        a
        for a in lifecycle.allowed_actions(case.status, case.paused_at is not None)
        if lifecycle.may_perform(a, principal.permissions, is_handler)
    ]


def timeline_types(principal: Principal, asked: list[CaseEventType] | None) -> list[str] | None:
    """The timeline entries a reader sees (None: every type): those about the case's sessions
    need `sessions:read`, like the sessions themselves. An empty list: none of those asked."""
    if principal.can(Permission.sessions_read):
        return [t.value for t in asked] if asked else None
    return [t.value for t in (asked or list(CaseEventType)) if t not in SESSION_EVENTS]
