"""Sign-in bodies: tokens, password changes, second factors, sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

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
    restricted_to: str | None = Field(
        None,
        description="Set when the token may do one thing only before a full sign-in: "
        "`password_change` (the password expired, or an administrator set it: POST "
        "/auth/password) or `mfa_enrolment` (the account needs a second factor and has none: "
        "POST /auth/mfa/enrolment, then .../confirm). No refresh token then; anything else "
        "answers 403 `password-expired` or `mfa-enrolment-required`.",
    )


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


class PasswordChangeIn(Input):
    """The signed-in owner changes the password (the current one proves it is them)."""

    current_password: str = Field(min_length=1, max_length=200, description="The password now.")
    new_password: str = Field(
        min_length=1,
        max_length=200,
        description="The new password: the policy's length and character classes, not the "
        "user name, not a common password, not one of the last passwords (422 names the rule).",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [{"current_password": "Old-pass-2026", "new_password": "Tiexi#Harbor-77"}]
        }
    }


class EnrolmentOut(Contract):
    """A new TOTP secret, not yet in force: confirm it with a code from the app."""

    secret: str = Field(description="Base32 secret, for typing into an authenticator app.")
    provisioning_uri: str = Field(description="The otpauth:// URI an authenticator app reads.")
    qr_svg: str = Field(description="The provisioning URI as a QR code (an SVG document).")


class EnrolmentConfirmIn(Input):
    """The code the authenticator app shows now."""

    code: str = Field(pattern=r"^\d{6}$", description="Six digits.")

    model_config = {"json_schema_extra": {"examples": [{"code": "492039"}]}}


class RecoveryCodesOut(Contract):
    """Shown once: each code signs in once in place of a TOTP code (field `otp`)."""

    recovery_codes: list[str] = Field(description="Ten one-time codes; store them offline.")


class SignInSessionOut(Contract):
    """One sign-in, kept alive by refreshing its tokens."""

    id: uuid.UUID = Field(description="Session id (the `sid` of its access tokens).")
    created_at: datetime = Field(description="When the person signed in.")
    last_used_at: datetime = Field(description="The sign-in or the last refresh.")
    idle_expires_at: datetime = Field(description="Refreshing after this is refused.")
    expires_at: datetime = Field(description="The absolute end, whatever the use.")
    second_factor: str | None = Field(description="`totp`, `recovery_code` or null.")
    client_ip: str | None = Field(description="Where the sign-in came from.")
    user_agent: str | None = Field(description="The signing-in program, as it said.")
    current: bool = Field(description="The session of the token making this request.")
