"""Personal information: masking for readers whose role does not need it, and keyed hashes
that recognise the same phone or ID number without storing it in plain text."""

from __future__ import annotations

import re
from datetime import date

from mediation.gmcrypto import CryptoProfile, keyed


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "****" + digits[-4:]


def mask_id_number(value: str | None) -> str | None:
    if not value:
        return value
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[-11:] if len(digits) > 11 and digits.startswith("86") else digits


def keyed_hash(
    key: str, kind: str, value: str, profile: CryptoProfile = CryptoProfile.default
) -> str:
    """HMAC of a normalised value; `kind` keeps phone and ID hashes apart. HMAC-SHA256 (plain
    hex) by default, HMAC-SM3 (`sm3:` + hex) in the national profile."""
    normalised = normalise_phone(value) if kind == "phone" else value.strip().upper()
    return keyed(key.encode(), f"{kind}:{normalised}".encode(), profile)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# The earliest birth date of a party's ID number (a window up to today; see windows.BIRTH).
EARLIEST_BIRTH = date(1900, 1, 1)


def birth_date(value: str) -> date:
    """The birth date a resident ID number carries (digits 7 to 14); raises ValueError when
    that date does not exist."""
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def valid_resident_id(value: str) -> bool:
    """18-digit resident identity number (GB 11643-1999): format, an existing birth date and
    checksum. Whether that birth date is plausible is the caller's window (it needs today)."""
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    try:
        birth_date(value)
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]
