"""Encrypting callback numbers at rest: AES-256-GCM with a key ring from
`settings.encryption_keys` ("kid:secret,kid:secret"). The first key encrypts, every key
decrypts, and the key id is stored beside the ciphertext, so a key can be rotated by putting a
new one first and keeping the old one until nothing uses it.

In the national profile (`MEDIATION_CRYPTO_PROFILE=gm`) new ciphertexts are SM4-GCM under a
128-bit key derived with HKDF-SM3, and their stored key id is `sm4:<kid>`: a key id without
the prefix is AES-256-GCM, so both kinds decrypt whatever the current profile."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mediation.gmcrypto import SM4_PREFIX, SM4GCM, CryptoProfile

NONCE_BYTES = 12
# Separates these keys from anything else derived from the same secrets.
_INFO = b"mediation:hotline-callback-number:v1"


class KeyringError(ValueError):
    """The key ring setting is malformed."""


class DecryptionError(Exception):
    """Unknown key id, or the ciphertext was altered or belongs to another record."""


def _derive_sm4(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SM3(), length=16, salt=None, info=_INFO).derive(secret.encode())


def _derive(secret: str) -> bytes:
    # The setting holds passphrase-like secrets; HKDF turns each into a 256-bit AES key.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())


def parse_keyring(raw: str) -> list[tuple[str, str]]:
    ring: list[tuple[str, str]] = []
    for part in raw.split(","):
        if not part.strip():
            continue
        kid, sep, secret = part.strip().partition(":")
        if not sep or not kid or len(kid) > 40 or len(secret) < 16:
            raise KeyringError(
                "MEDIATION_ENCRYPTION_KEYS entries are kid:secret (kid up to 40 characters, "
                "secret 16+ characters)"
            )
        if any(kid == k for k, _ in ring):
            raise KeyringError(f"key id `{kid}` appears twice in MEDIATION_ENCRYPTION_KEYS")
        ring.append((kid, secret))
    if not ring:
        raise KeyringError("MEDIATION_ENCRYPTION_KEYS holds no key")
    return ring


@dataclass(frozen=True)
class Sealed:
    key_id: str
    blob: bytes  # nonce || ciphertext+tag


class FieldCipher:
    def __init__(
        self, keyring: list[tuple[str, str]], profile: CryptoProfile = CryptoProfile.default
    ) -> None:
        if not keyring:
            raise KeyringError("at least one key is required")
        self._keys: dict[str, AESGCM | SM4GCM] = {}
        for kid, secret in keyring:
            self._keys[kid] = AESGCM(_derive(secret))
            self._keys[SM4_PREFIX + kid] = SM4GCM(_derive_sm4(secret))
        gm = profile is CryptoProfile.gm
        self.current_key_id = (SM4_PREFIX if gm else "") + keyring[0][0]

    @classmethod
    def from_setting(cls, raw: str, profile: CryptoProfile = CryptoProfile.default) -> FieldCipher:
        return cls(parse_keyring(raw), profile)

    def encrypt(self, plaintext: str, *, context: bytes) -> Sealed:
        """`context` (associated data, e.g. the record id) binds the ciphertext to its row:
        copied into another row it no longer decrypts."""
        nonce = os.urandom(NONCE_BYTES)
        ct = self._keys[self.current_key_id].encrypt(nonce, plaintext.encode(), context)
        return Sealed(self.current_key_id, nonce + ct)

    def decrypt(self, sealed: Sealed, *, context: bytes) -> str:
        aead = self._keys.get(sealed.key_id)
        if aead is None:
            raise DecryptionError(f"no key with id `{sealed.key_id}` in the key ring")
        try:
            return aead.decrypt(
                sealed.blob[:NONCE_BYTES], sealed.blob[NONCE_BYTES:], context
            ).decode()
        except InvalidTag as exc:
            raise DecryptionError("the ciphertext does not verify") from exc
