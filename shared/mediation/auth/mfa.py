"""The second factor (issue 18, item 2): TOTP (RFC 6238, pyotp) with one-time recovery codes.

The secret is sealed with the field key ring (AES-GCM, bound to the account's id), a code
works once (the last time step used is kept), and recovery codes are stored as SHA-256
hashes (they are random, 50 bits each: no slow hash needed) and removed when used."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import pyotp
import segno

from mediation.auth.models import User
from mediation.auth.policy import ADMIN_ROLES
from mediation.hotline.crypto import FieldCipher, Sealed
from mediation.org.enums import Role
from mediation.settings import Settings

ISSUER = "综治中心"
STEP_SECONDS = 30
# Codes of the previous and the next time step are accepted too (clocks drift).
DRIFT_STEPS = 1
RECOVERY_CODES = 10


def required_for(roles: frozenset[Role], settings: Settings) -> bool:
    """Administrators always need a second factor, and so do the roles the setting names."""
    marked = settings.mfa_required_role_set()
    return any(r in ADMIN_ROLES or r.value in marked for r in roles)


def _cipher(settings: Settings) -> FieldCipher:
    return FieldCipher.from_setting(
        settings.encryption_keys.get_secret_value(), settings.crypto_profile
    )


def _context(user: User) -> bytes:
    return b"totp:" + user.id.bytes


def store_secret(user: User, secret: str, settings: Settings) -> None:
    """A new, unconfirmed secret: sign-in does not ask for it until a code confirmed it."""
    sealed = _cipher(settings).encrypt(secret, context=_context(user))
    user.totp_key_id, user.totp_secret = sealed.key_id, sealed.blob
    user.totp_confirmed_at = None
    user.totp_last_step = None
    user.recovery_codes = []


def clear(user: User) -> None:
    user.totp_key_id = user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    user.recovery_codes = []


def _secret(user: User, settings: Settings) -> str | None:
    if user.totp_key_id is None or user.totp_secret is None:
        return None
    return _cipher(settings).decrypt(
        Sealed(user.totp_key_id, user.totp_secret), context=_context(user)
    )


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The provisioning URI as a QR code an authenticator app scans (SVG, no external file)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, border=2))


def use_totp(user: User, code: str, settings: Settings, now: datetime) -> bool:
    """True when `code` is the account's TOTP code for now (± drift) and that time step was
    not used before; the step is then spent."""
    secret = _secret(user, settings)
    code = code.strip().replace(" ", "")
    if secret is None or not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            return True
    return False


def new_recovery_codes(user: User) -> list[str]:
    """Fresh codes (the old ones stop working); shown once, only their hashes are kept."""
    codes = [_format(secrets.token_hex(5)) for _ in range(RECOVERY_CODES)]
    user.recovery_codes = [_hash(c) for c in codes]
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    digest = _hash(code)
    if digest not in user.recovery_codes:
        return False
    user.recovery_codes = [h for h in user.recovery_codes if h != digest]
    return True


def _format(raw: str) -> str:
    return f"{raw[:5]}-{raw[5:]}"


def _hash(code: str) -> str:
    normal = code.strip().lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(normal.encode()).hexdigest()


def new_secret() -> str:
    return pyotp.random_base32()
