"""Sign-in bodies."""

from __future__ import annotations

import uuid

from pydantic import Field

from mediation.contracts.common import Contract, Input
from mediation.org.enums import Role, UnitLevel


class TokenOut(Contract):
    """An OAuth2 token response (RFC 6749 §5.1)."""

    access_token: str = Field(description="Bearer token for the Authorization header.")
    token_type: str = Field("bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        None, description="Single-use token for /auth/refresh (people only); rotates on use."
    )
    scope: str | None = Field(None, description="Granted scopes, space-separated (clients).")


class OAuthErrorOut(Contract):
    """A token endpoint error (RFC 6749 §5.2): what OAuth2 client libraries read."""

    error: str = Field(
        description="`invalid_request`, `invalid_client`, `invalid_grant`, "
        "`unsupported_grant_type` or `invalid_scope`.",
        max_length=40,
    )
    error_description: str = Field(description="For people: what was wrong.", max_length=500)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "error": "invalid_grant",
                    "error_description": "The user name or password is wrong.",
                }
            ]
        }
    }


class RefreshIn(Input):
    """A refresh token to exchange or revoke."""

    refresh_token: str = Field(min_length=10, max_length=200, description="The refresh token.")

    model_config = {"json_schema_extra": {"examples": [{"refresh_token": "Qm9ndXMtZXhhbXBsZQ..."}]}}


class RoleGrant(Contract):
    """A role held at a node; it applies to the node's subtree."""

    role: Role = Field(description="The role.")
    unit_id: uuid.UUID = Field(description="Where it is held.")
    unit_name: str = Field(description="The node's Chinese name.")
    unit_level: UnitLevel = Field(description="The node's level.")


class MeOut(Contract):
    """The signed-in caller."""

    kind: str = Field(description="`user` for a person, `client` for another system.")
    id: uuid.UUID = Field(description="User or client id.")
    name: str = Field(description="Display name.")
    person_id: uuid.UUID | None = Field(description="The person behind a user account.")
    roles: list[Role] = Field(description="Roles held now.")
    permissions: list[str] = Field(description="What the roles (or scopes) allow.")
    grants: list[RoleGrant] = Field(description="Where each role is held (people only).")
