"""The national cryptography profile (GB/T 39786-2021, 密评): SM3 (GB/T 32905), HMAC-SM3 and
SM4 (GB/T 32907) in GCM mode, from `cryptography` (OpenSSL). `MEDIATION_CRYPTO_PROFILE=gm`
makes new field encryption, keyed hashes and audit-chain hashes use them; `default` keeps
AES-256-GCM, HMAC-SHA256 and SHA-256. Whatever is stored says which algorithm made it (a
`sm3:` prefix on hashes, a `sm4:` prefix on key ids), so data of both profiles stays readable
while it is migrated."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SM3_PREFIX = "sm3:"
SM4_PREFIX = "sm4:"
TAG_BYTES = 16


class CryptoProfile(StrEnum):
    default = "default"
    gm = "gm"


def sm3(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def hmac_sm3(key: bytes, data: bytes) -> str:
    h = crypto_hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def chain_hash(data: bytes, profile: CryptoProfile) -> str:
    """The audit chain's hash: plain hex SHA-256, or `sm3:` + SM3."""
    if profile is CryptoProfile.gm:
        return SM3_PREFIX + sm3(data)
    return hashlib.sha256(data).hexdigest()


def chain_hash_like(stored: str, data: bytes) -> str:
    """Recomputes with the algorithm that made `stored` (mixed chains verify)."""
    gm = stored.startswith(SM3_PREFIX)
    return chain_hash(data, CryptoProfile.gm if gm else CryptoProfile.default)


def keyed(key: bytes, data: bytes, profile: CryptoProfile) -> str:
    if profile is CryptoProfile.gm:
        return SM3_PREFIX + hmac_sm3(key, data)
    return hmac.new(key, data, hashlib.sha256).hexdigest()


class SM4GCM:
    """The AESGCM interface (`encrypt(nonce, data, aad)`, tag appended) over SM4-GCM."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("SM4 keys are 128 bits")
        self._key = key

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if associated_data:
            enc.authenticate_additional_data(associated_data)
        return enc.update(data) + enc.finalize() + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(data) < TAG_BYTES:
            raise InvalidTag()
        dec = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, data[-TAG_BYTES:])).decryptor()
        if associated_data:
            dec.authenticate_additional_data(associated_data)
        return dec.update(data[:-TAG_BYTES]) + dec.finalize()
