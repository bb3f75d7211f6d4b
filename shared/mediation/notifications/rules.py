"""Notification rules as data: which event reaches whom, on which channels. A rule names its
recipients with selectors that the worker resolves generically, so a new event type needs a
rule (data), not code:

- `payload_people`: the person ids in a payload field (`handler_person_ids`, ...);
- `role`: holders of a role at the event's unit (or a unit named in the payload), its parent,
  the nearest ancestor that has one, every ancestor, or anywhere;
- `people`: fixed persons.

Webhook subscriptions are the fourth kind of recipient; they filter by event type themselves.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mediation.errors import Unprocessable
from mediation.notifications import catalog
from mediation.notifications.enums import RULE_CHANNELS, Channel, RoleScope
from mediation.notifications.problems import RULE_INVALID
from mediation.org.enums import Role

CODE_PATTERN = r"^[a-z][a-z0-9_.\-]{2,79}$"
# Payload values a rule matches; integers within what the service stores anywhere.
Scalar = (
    Annotated[str, Field(max_length=200)] | Annotated[int, Field(ge=-(2**31), le=2**31 - 1)] | bool
)
# A payload filter: field → the values it may hold.
PayloadMatch = dict[str, Annotated[list[Scalar], Field(max_length=50)]]
# A payload field's name.
FieldName = Annotated[str, Field(min_length=1, max_length=80)]


def _kind_required(schema: dict[str, Any]) -> None:
    """A selector is told apart by `kind`: the server refuses one without it (a 422), so the
    contract says it is required (the Python default is for code building selectors)."""
    schema["properties"]["kind"].pop("default", None)
    schema["required"] = ["kind", *(r for r in schema.get("required", []) if r != "kind")]


SELECTOR_CONFIG = ConfigDict(extra="forbid", json_schema_extra=_kind_required)


class PayloadPeople(BaseModel):
    """The persons whose ids an event's payload carries in `field`."""

    model_config = SELECTOR_CONFIG
    kind: Literal["payload_people"] = Field(
        "payload_people",
        description="Selector kind: `payload_people`, the persons named in a payload field.",
    )
    field: FieldName = Field(
        description="Payload field holding a person id or a list of them, e.g. "
        "`handler_person_ids`.",
        examples=["handler_person_ids"],
    )


class RoleHolders(BaseModel):
    """Everyone holding `role` at a unit relative to the event's unit (or the unit whose id the
    payload carries in `unit_field`), on the day the event is processed."""

    model_config = SELECTOR_CONFIG
    kind: Literal["role"] = Field(
        "role", description="Selector kind: `role`, the holders of a role relative to a unit."
    )
    role: Role = Field(description="The role to look for.")
    scope: RoleScope = Field(RoleScope.nearest, description="Where to look, relative to the unit.")
    unit_field: FieldName | None = Field(
        None,
        description="Payload field holding the unit id to "
        "start from (e.g. `target_unit_id`); default: the event's "
        "own unit.",
    )


class FixedPeople(BaseModel):
    """These persons, always."""

    model_config = SELECTOR_CONFIG
    kind: Literal["people"] = Field(
        "people", description="Selector kind: `people`, a fixed list of persons."
    )
    person_ids: list[uuid.UUID] = Field(min_length=1, max_length=100, description="Person ids.")


Selector = Annotated[PayloadPeople | RoleHolders | FixedPeople, Field(discriminator="kind")]


class RuleSpec(BaseModel):
    """A rule as the engine uses it (built-in or stored)."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    description: str | None = None
    event_type: str
    recipients: list[Selector] = Field(default_factory=list)
    channels: list[Channel]
    payload_match: dict[str, list[Scalar]] = Field(default_factory=dict)
    urgent: bool = False
    exclude_actor: bool = True
    enabled: bool = True
    version: int = 0
    builtin: bool = False

    def matches(self, payload: dict[str, Any]) -> bool:
        """All `payload_match` fields must hold one of the listed values."""
        return all(payload.get(k) in values for k, values in self.payload_match.items())


def validate_rule(
    event_type: str,
    recipients: list[Any],
    channels: list[Channel],
    payload_match: dict[str, list[Scalar]],
) -> None:
    """Raise Unprocessable (422) with every problem of a rule, checked against the catalogue."""
    spec = catalog.require_known(event_type, "body.event_type")
    errors: list[dict[str, str]] = []
    if not channels:
        errors.append({"field": "body.channels", "message": "Name at least one channel."})
    for i, ch in enumerate(channels):
        if ch not in RULE_CHANNELS:
            errors.append(
                {
                    "field": f"body.channels.{i}",
                    "message": (
                        f"`{ch.value}` is not a rule channel; webhooks follow subscriptions."
                    ),
                }
            )
    if len(set(channels)) != len(channels):
        errors.append({"field": "body.channels", "message": "A channel is listed twice."})
    personal = [c for c in channels if c is not Channel.wecom]
    if personal and not recipients:
        errors.append(
            {
                "field": "body.recipients",
                "message": "Personal channels need at least one recipient selector.",
            }
        )
    for i, sel in enumerate(recipients):
        where = f"body.recipients.{i}"
        if isinstance(sel, PayloadPeople) and sel.field not in spec.person_fields:
            errors.append(
                {
                    "field": f"{where}.field",
                    "message": (
                        f"{event_type} carries person ids in "
                        f"{', '.join(spec.person_fields) or 'no field'}, not `{sel.field}`."
                    ),
                }
            )
        if isinstance(sel, RoleHolders):
            if sel.unit_field is not None and sel.unit_field not in spec.unit_fields:
                errors.append(
                    {
                        "field": f"{where}.unit_field",
                        "message": (
                            f"{event_type} carries unit ids in "
                            f"{', '.join(spec.unit_fields) or 'no field'}, not `{sel.unit_field}`."
                        ),
                    }
                )
            if (
                sel.unit_field is None
                and not spec.unit_scoped
                and sel.scope is not RoleScope.anywhere
            ):
                errors.append(
                    {
                        "field": f"{where}.scope",
                        "message": (
                            f"{event_type} belongs to no unit: only scope `anywhere` applies."
                        ),
                    }
                )
    for name in payload_match:
        if name not in spec.variables:
            errors.append(
                {
                    "field": f"body.payload_match.{name}",
                    "message": (f"{event_type} has no payload field `{name}`."),
                }
            )
    if errors:
        raise Unprocessable(
            "The rule cannot be used; see errors.", errors=errors, code=RULE_INVALID
        )
