"""Typed domain errors. Each carries its HTTP status and problem type, so services raise
meaning and the API renders RFC 9457 problem+json without a lookup table.

Every problem also carries a `code`: stable, machine-readable, the same in every deployment
(the `type` URI starts with the configurable `MEDIATION_PROBLEM_BASE_URI`). By default the
code is the problem type's (`not-found`, `invalid-transition`); a business rule a client may
want to branch on gets its own, declared once with `rule_code` and passed as `code=`. Every
code is in `CODES`, which the contract lists (the enum of `Problem.code`)."""

from __future__ import annotations

from typing import Any, ClassVar

DEFAULT_PROBLEM_BASE = "https://mediation.example.gov.cn/problems/"

# code → what it means, for the contract and docs/integration.md.
CODES: dict[str, str] = {}


def rule_code(code: str, meaning: str) -> str:
    """Declares a problem code (lower-case words joined by `-`) and returns it."""
    if CODES.get(code, meaning) != meaning:
        raise ValueError(f"problem code {code!r} is declared twice with different meanings")
    CODES[code] = meaning
    return code


class DomainError(Exception):
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    # On the token endpoint a refusal is an RFC 6749 error body, except the sign-in steps
    # that OAuth2 has no code for (a second factor needed...): those stay problem+json.
    oauth: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "slug" in cls.__dict__:
            rule_code(cls.slug, cls.title + ".")

    def __init__(self, detail: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.slug
        if self.code not in CODES:
            raise ValueError(f"problem code {self.code!r} is not declared (rule_code)")
        self.extra = extra

    @classmethod
    def type_uri(cls, base: str = DEFAULT_PROBLEM_BASE) -> str:
        return base + cls.slug


rule_code(DomainError.slug, "The request cannot be read.")
VALIDATION = rule_code("validation", "Fields are invalid or unknown; `errors` lists them.")


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class InvalidTransition(Conflict):
    slug = "invalid-transition"
    title = "Action not allowed in the current state"


class Unprocessable(DomainError):
    """Well-formed input that breaks a domain rule (unknown reference, bad checksum...)."""

    status = 422
    slug = "unprocessable"
    title = "The request breaks a rule"

    def __init__(
        self, detail: str, field: str | None = None, code: str | None = None, **extra: Any
    ) -> None:
        errors = extra.pop("errors", None) or (
            [{"field": field, "message": detail}] if field else []
        )
        super().__init__(detail, code=code, errors=errors, **extra)


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title = "Not signed in"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class SecondFactorRequired(Unauthorized):
    """The password was right; the account needs a second factor (`otp`) too."""

    slug = "mfa-required"
    title = "A second factor is needed"
    oauth = False


class SecondFactorWrong(Unauthorized):
    slug = "mfa-invalid"
    title = "The second factor is wrong"
    oauth = False


class PasswordExpired(Forbidden):
    """A token limited to changing the password was used for anything else."""

    slug = "password-expired"
    title = "The password must be changed first"


class EnrolmentRequired(Forbidden):
    """A token limited to enrolling a second factor was used for anything else."""

    slug = "mfa-enrolment-required"
    title = "A second factor must be enrolled first"


class PreconditionRequired(DomainError):
    status = 428
    slug = "precondition-required"
    title = "If-Match header required"


class PreconditionFailed(DomainError):
    status = 412
    slug = "precondition-failed"
    title = "The resource changed since you read it"


class TooManyRequests(DomainError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class UnsupportedMediaType(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"
