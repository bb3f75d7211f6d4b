"""Creating people with accounts and roles (CLI `create-user`, demo data, admin API)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth import password_policy
from mediation.auth.models import User
from mediation.auth.passwords import hash_password
from mediation.auth.policy import ADMIN_ROLES
from mediation.clock import center_date
from mediation.db import standalone, unit_of_work
from mediation.errors import Conflict, NotFound, rule_code
from mediation.org.enums import Role
from mediation.org.models import Person, RoleAssignment
from mediation.org.tree import unit_by_code
from mediation.settings import Settings

# Problem codes of the account rules (see mediation.errors.rule_code).
SEPARATION_OF_DUTIES = rule_code(
    "separation-of-duties",
    "Separation of duties (三员分立): the role cannot be combined with one the person holds.",
)
USERNAME_TAKEN = rule_code(
    "username-taken", "The username is taken, or the person already has an account."
)
PERSON_UNKNOWN = rule_code("person-unknown", "No person with this id.")
CLIENT_ID_TAKEN = rule_code("client-id-taken", "An API client with this client id exists.")
CLIENT_SCOPES = rule_code(
    "client-scopes-invalid", "Scopes an integration client cannot hold were asked for."
)
MFA_ENROLLED = rule_code(
    "mfa-already-enrolled",
    "A second factor is enrolled already; the security administrator resets it first.",
)
MFA_NOT_STARTED = rule_code(
    "mfa-enrolment-not-started", "Nothing to confirm: start an enrolment first."
)
CURRENT_PASSWORD_WRONG = rule_code("current-password-wrong", "The current password is wrong.")


async def check_separation_of_duties(
    session: AsyncSession, person_id: uuid.UUID, role: Role, today: date
) -> None:
    """三员分立: whoever holds an administrator role (system, security, audit) holds no other
    role, so no account combines two administrators or administers and reads content. A role
    counts until the end of its last day: `today` is the center's (Beijing) date by the
    service's clock, not the database server's date, which was UTC's before 08:00."""
    held = (
        await session.scalars(
            select(RoleAssignment.role).where(
                RoleAssignment.person_id == person_id,
                RoleAssignment.role != role,
                or_(RoleAssignment.ends_on.is_(None), RoleAssignment.ends_on >= today),
            )
        )
    ).all()
    clash = sorted({r.value for r in held if r in ADMIN_ROLES or role in ADMIN_ROLES})
    if clash:
        raise Conflict(
            f"Separation of duties (三员分立): `{role.value}` cannot be combined with the "
            f"role(s) the person holds: {', '.join(clash)}. End those first.",
            code=SEPARATION_OF_DUTIES,
        )


async def add_account(
    session: AsyncSession,
    *,
    username: str,
    name: str,
    role: Role,
    unit_id: uuid.UUID,
    password: str | None,
    starts_on: date,
    password_hash: str | None = None,
    phone: str | None = None,
    qualifications: list[str] | None = None,
    password_changed_at: datetime | None = None,
) -> User:
    """`password_changed_at` None: the password never expires (demo accounts only)."""
    if (await session.scalars(select(User.id).where(User.username == username))).first():
        raise Conflict(f"The username `{username}` is taken.", code=USERNAME_TAKEN)
    person = Person(name=name, phone=phone, qualifications=qualifications or [])
    session.add(person)
    await session.flush()
    session.add(
        RoleAssignment(person_id=person.id, unit_id=unit_id, role=role, starts_on=starts_on)
    )
    if password_hash is None:
        if password is None:
            raise ValueError("a password or its hash is required")
        password_hash = hash_password(password)
    user = User(
        username=username,
        password_hash=password_hash,
        person_id=person.id,
        password_changed_at=password_changed_at,
    )
    session.add(user)
    await session.flush()
    return user


async def create_user(
    settings: Settings, *, username: str, name: str, role: Role, unit_code: str, password: str
) -> uuid.UUID:
    async with standalone(settings) as factory, unit_of_work(factory) as session:
        unit = await unit_by_code(session, unit_code)
        if unit is None:
            raise NotFound(f"No unit with code `{unit_code}`.")
        password_policy.check(password, None, username, settings, "password")
        now = datetime.now(UTC)
        user = await add_account(
            session,
            username=username,
            name=name,
            role=role,
            unit_id=unit.id,
            password=password,
            # The center's day, not the server's: roles count by Beijing dates.
            starts_on=center_date(now),
            password_changed_at=now,
        )
        # Set by an operator: the person chooses their own at first sign-in.
        user.must_change_password = True
        return user.id
