"""The password policy (issue 18, item 3; GB/T 22239-2019 8.1.4.1 a, 身份鉴别): length,
character classes, not the username, not a common password, not a recent one, a maximum
age, and a change at first sign-in after an administrator set the password.

A refusal is a 422 naming the rule (`rule` in the problem body) and changes nothing."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from pathlib import Path

from mediation.auth.models import User
from mediation.auth.passwords import hash_password, verify_password
from mediation.errors import Unprocessable, rule_code
from mediation.settings import Settings

COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
PASSWORD_POLICY = rule_code(
    "password-policy", "The password breaks a rule of the password policy (`rule` names it)."
)


@functools.cache
def _common() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(x.strip().lower() for x in lines if x.strip() and not x.startswith("#"))


def _classes(password: str) -> int:
    return sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )


def _refuse(rule: str, message: str, field: str) -> Unprocessable:
    return Unprocessable(
        f"Password rule `{rule}`: {message}", field=field, rule=rule, code=PASSWORD_POLICY
    )


def check(password: str, user: User | None, username: str, settings: Settings, field: str) -> None:
    """Refuses a password the policy does not allow for `username` (and, for an existing
    account, one of its last `password_history` passwords, the current one included)."""
    if len(password) < settings.password_min_length:
        raise _refuse("min_length", f"at least {settings.password_min_length} characters.", field)
    if _classes(password) < settings.password_min_classes:
        raise _refuse(
            "character_classes",
            f"characters from at least {settings.password_min_classes} of the four classes "
            "(lower case, upper case, digits, other characters).",
            field,
        )
    if username.lower() in password.lower():
        raise _refuse("contains_username", "it may not contain the user name.", field)
    if password.lower() in _common():
        raise _refuse("common_password", "it is on the list of common passwords.", field)
    if user is not None and settings.password_history:
        recent = [user.password_hash, *user.password_history][: settings.password_history]
        if any(verify_password(h, password) for h in recent):
            raise _refuse(
                "recently_used",
                f"it may not be one of the last {settings.password_history} passwords.",
                field,
            )


def set_password(
    user: User, password: str, settings: Settings, now: datetime, *, by_admin: bool
) -> None:
    """Sets an already checked password; the old one joins the history. A password an
    administrator sets must be changed by its owner at the next sign-in."""
    keep = max(settings.password_history - 1, 0)
    user.password_history = [user.password_hash, *user.password_history][:keep]
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.must_change_password = by_admin


def change_needed(user: User, settings: Settings, now: datetime) -> str | None:
    """Why the owner must change the password before anything else, or None."""
    if user.must_change_password:
        return "An administrator set this password: choose your own before going on."
    if settings.password_max_age_days and user.password_changed_at is not None:
        if now - user.password_changed_at >= timedelta(days=settings.password_max_age_days):
            return (
                f"The password is older than {settings.password_max_age_days} days: "
                "change it before going on."
            )
    return None
