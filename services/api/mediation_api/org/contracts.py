"""API bodies for the jurisdiction tree, people, role assignments, users and clients."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import Field, model_validator

from mediation.contracts.common import Contract, Input, Instant
from mediation.contracts.windows import PlanDay, TermDay
from mediation.org.enums import Role, UnitLevel

UNIT_CODE = r"^[A-Za-z0-9_-]{1,40}$"
# One qualification or scope as a client sends it (bounded like every string it sends).
Qualification = Annotated[str, Field(min_length=1, max_length=100)]
ScopeName = Annotated[str, Field(min_length=1, max_length=60)]


class UnitOut(Contract):
    """A node of the jurisdiction tree."""

    id: uuid.UUID = Field(description="Identifier.")
    parent_id: uuid.UUID | None = Field(description="The parent node; null for a root.")
    level: UnitLevel = Field(description="Level in the tree.")
    code: str = Field(description="Unique code (administrative division code or local code).")
    name: str = Field(description="Chinese name, e.g. 先锋社区.")
    path: str = Field(description="Chain of ancestor sequence numbers; a subtree shares a prefix.")
    active: bool = Field(description="Deactivated nodes keep their records but take no new ones.")
    version: int = Field(description="Increments on every change.")
    updated_at: Instant = Field(description="Last change.")


class UnitCreate(Input):
    """A new node under `parent_id` (or a root city/district for administrators at the top)."""

    parent_id: uuid.UUID | None = Field(None, description="Parent node; null for a root.")
    level: UnitLevel = Field(description="Must be the level right below the parent's.")
    code: str = Field(pattern=UNIT_CODE, description="Unique code.")
    name: str = Field(min_length=1, max_length=100, description="Chinese name.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "parent_id": "0195f7a2-8c1e-7000-8000-000000000001",
                    "level": "grid",
                    "code": "220302001001G03",
                    "name": "先锋社区第三网格",
                }
            ]
        }
    }


class UnitUpdate(Input):
    """Rename a node. Codes and places in the tree do not change: records point to them."""

    name: str = Field(min_length=1, max_length=100, description="New Chinese name.")

    model_config = {"json_schema_extra": {"examples": [{"name": "先锋社区第三网格（新）"}]}}


class UnitImportRow(Input):
    """One node of an import; the parent is named by code (in the file or already stored)."""

    code: str = Field(max_length=40, description="Unique code.")
    name: str = Field(max_length=100, description="Chinese name.")
    level: str = Field(max_length=20, description="Level value, e.g. `community`.")
    parent_code: str | None = Field(None, max_length=40, description="Code of the parent node.")


class UnitImport(Input):
    """A whole district (or a part of one) to add at once: all rows or none."""

    units: list[UnitImportRow] = Field(
        min_length=1, max_length=200_000, description="Nodes in any order."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "units": [
                        {
                            "code": "220303",
                            "name": "铁东区",
                            "level": "district",
                            "parent_code": "220300",
                        },
                        {
                            "code": "220303001",
                            "name": "解放街道",
                            "level": "street",
                            "parent_code": "220303",
                        },
                    ]
                }
            ]
        }
    }


class ImportRowError(Contract):
    """Why one row of an import was refused."""

    row: int = Field(description="1-based row number in the file (after the CSV header).")
    code: str | None = Field(description="The row's code, if it had one.")
    message: str = Field(description="What is wrong.")


class UnitImportResult(Contract):
    """The outcome of an import that was accepted."""

    created: int = Field(description="Nodes added.")


class CoverageGap(Contract):
    """A community or village missing its police officer or legal advisor today."""

    unit_id: uuid.UUID = Field(description="The community or village.")
    code: str = Field(description="Its code.")
    name: str = Field(description="Its name.")
    missing: list[Role] = Field(description="Roles nobody holds there today.")


class PersonOut(Contract):
    """A person who works in the system (staff, volunteers, mediators...)."""

    id: uuid.UUID = Field(description="Identifier.")
    name: str = Field(description="Name.")
    phone: str | None = Field(description="Phone; masked unless your role needs it.")
    email: str | None = Field(description="Email, for notifications.")
    organisation: str | None = Field(description="Body the person belongs to, e.g. 北沟街道调委会.")
    qualifications: list[str] = Field(description="E.g. 国家二级心理咨询师, 家庭教育指导师.")
    version: int = Field(description="Increments on every change.")


# One rule for a person's email, on creation and on change (a change took any text before).
EMAIL = r"^[^@\s]+@[^@\s]+$"


class PersonCreate(Input):
    """A new person."""

    name: str = Field(min_length=1, max_length=100, description="Name.")
    phone: str | None = Field(None, pattern=r"^[0-9+\- ]{5,30}$", description="Phone.")
    email: str | None = Field(None, max_length=200, pattern=EMAIL, description="Email.")
    organisation: str | None = Field(None, max_length=200, description="Organisation.")
    qualifications: list[Qualification] = Field(
        default_factory=list, max_length=20, description="Qualifications."
    )
    assignment: AssignmentCreate = Field(
        description="The first role and where it is held: a person is visible only to the "
        "subtrees where they hold a role."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "刘调解",
                    "phone": "13900000001",
                    "organisation": "北沟街道人民调解委员会",
                    "qualifications": ["人民调解员证"],
                    "assignment": {
                        "unit_id": "0195f7a2-8c1e-7000-8000-000000000003",
                        "role": "mediator",
                        "starts_on": "2026-12-01",
                    },
                }
            ]
        }
    }


class PersonUpdate(Input):
    """Changes to a person; omitted fields stay."""

    name: str | None = Field(None, min_length=1, max_length=100, description="Name.")
    phone: str | None = Field(None, pattern=r"^[0-9+\- ]{5,30}$", description="Phone.")
    email: str | None = Field(None, max_length=200, pattern=EMAIL, description="Email.")
    organisation: str | None = Field(None, max_length=200, description="Organisation.")
    qualifications: list[Qualification] | None = Field(
        None, max_length=20, description="Qualifications."
    )

    model_config = {"json_schema_extra": {"examples": [{"phone": "13900000002"}]}}


class AssignmentOut(Contract):
    """A person holds a role at a node from `starts_on` to `ends_on` (inclusive)."""

    id: uuid.UUID = Field(description="Identifier.")
    person_id: uuid.UUID = Field(description="The person.")
    unit_id: uuid.UUID = Field(description="Where the role is held.")
    role: Role = Field(description="The role.")
    starts_on: date = Field(description="First day.")
    ends_on: date | None = Field(description="Last day; null while open.")


class AssignmentCreate(Input):
    """Give a person a role at a node."""

    unit_id: uuid.UUID = Field(description="Where the role is held.")
    role: Role = Field(description="The role.")
    starts_on: PlanDay = Field(description="First day.")
    ends_on: TermDay | None = Field(None, description="Last day, if known.")

    @model_validator(mode="after")
    def _ordered(self) -> AssignmentCreate:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "unit_id": "0195f7a2-8c1e-7000-8000-000000000004",
                    "role": "police",
                    "starts_on": "2026-12-01",
                }
            ]
        }
    }


class AssignmentEnd(Input):
    """End an assignment."""

    ends_on: TermDay = Field(description="Last day the role is held.")

    model_config = {"json_schema_extra": {"examples": [{"ends_on": "2026-12-31"}]}}


class UserOut(Contract):
    """A person's sign-in account."""

    id: uuid.UUID = Field(description="Identifier.")
    username: str = Field(description="Sign-in name.")
    person_id: uuid.UUID = Field(description="The person.")
    active: bool = Field(description="Inactive accounts cannot sign in.")
    last_login_at: Instant | None = Field(description="Last successful sign-in.")
    version: int = Field(description="Increments on every change.")
    password_changed_at: Instant | None = Field(
        description="When the password was set (null: it never expires, demo accounts only)."
    )
    must_change_password: bool = Field(
        description="An administrator set the password: the owner changes it at next sign-in."
    )
    mfa_enrolled: bool = Field(description="A second factor (TOTP) is in force.")


class UserCreate(Input):
    """An account for an existing person."""

    username: str = Field(pattern=r"^[a-z][a-z0-9_.-]{2,59}$", description="Sign-in name.")
    person_id: uuid.UUID = Field(description="The person.")
    password: str = Field(
        min_length=1,
        max_length=200,
        description="Initial password, under the password policy (422 names the rule); the "
        "owner must change it at first sign-in.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "username": "liu.mediator",
                    "person_id": "0195f7a2-8c1e-7000-8000-0000000000aa",
                    "password": "Tiexi#Harbor-2026",
                }
            ]
        }
    }


class UserUpdate(Input):
    """Enable or disable an account, or set a new password."""

    active: bool | None = Field(
        None, description="Disable to stop sign-in; the account's sessions and tokens end at once."
    )
    password: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="New password, under the password policy (422 names the rule); the owner "
        "must change it at the next sign-in, and the account's sessions end.",
    )

    model_config = {"json_schema_extra": {"examples": [{"active": False}]}}


class ClientOut(Contract):
    """Another government system allowed to call the API."""

    id: uuid.UUID = Field(description="Identifier.")
    client_id: str = Field(description="The client_id for the token request.")
    name: str = Field(description="E.g. 铁西区公安分局110联动平台.")
    scopes: list[str] = Field(description="Scopes it may ask for.")
    unit_id: uuid.UUID = Field(description="Its jurisdiction: it sees this subtree only.")
    active: bool = Field(description="Inactive clients cannot get tokens.")
    version: int = Field(description="Increments on every change.")


class ClientCreated(ClientOut):
    """A new client; the secret is shown this once."""

    client_secret: str = Field(description="Store it now: it cannot be read again.")


class ClientCreate(Input):
    """Register another system."""

    client_id: str = Field(pattern=r"^[a-z][a-z0-9_.-]{2,79}$", description="Chosen client id.")
    name: str = Field(min_length=1, max_length=200, description="Display name.")
    scopes: list[ScopeName] = Field(
        min_length=1, max_length=50, description="Scopes it may ask for."
    )
    unit_id: uuid.UUID = Field(description="Its jurisdiction.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "client_id": "police-110",
                    "name": "铁西公安110联动",
                    "scopes": ["cases:create", "cases:read"],
                    "unit_id": "0195f7a2-8c1e-7000-8000-000000000002",
                }
            ]
        }
    }


class ClientUpdate(Input):
    """Change a client's scopes or disable it."""

    scopes: list[ScopeName] | None = Field(None, min_length=1, max_length=50, description="Scopes.")
    active: bool | None = Field(None, description="Disable to stop new tokens.")

    model_config = {"json_schema_extra": {"examples": [{"active": False}]}}


class AccessLogOut(Contract):
    """Who read personal data or a hotline record."""

    id: uuid.UUID = Field(description="Identifier.")
    at: Instant = Field(description="When.")
    actor_id: uuid.UUID | None = Field(description="User or client id.")
    actor_kind: str = Field(description="`user` or `client`.")
    actor_name: str = Field(description="Name or client id.")
    action: str = Field(description="What was done, e.g. `read`.")
    record_type: str = Field(description="Kind of record, e.g. `case`, `hotline_call`.")
    record_id: uuid.UUID | None = Field(description="The record.")
    subject_ids: list[uuid.UUID] = Field(description="People whose data was shown.")
    request_id: str | None = Field(description="The request that did it.")


PersonCreate.model_rebuild()
