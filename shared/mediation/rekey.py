"""`mediation crypto rekey`: brings stored ciphertexts and keyed hashes to the current profile
and key (after `MEDIATION_CRYPTO_PROFILE` or the first key of a ring changed).

- hotline callback numbers: decrypted with whatever sealed them (the key id says which
  algorithm and key), sealed again with the current one, bound to the same call;
- case parties' phone and ID hashes: computed again from the party's number;
- second-factor (TOTP) secrets of accounts: as the callback numbers, bound to their account.

Batches of `batch` rows, each its own transaction, chosen by "not yet in the current form":
an interrupted run (even kill -9) loses at most the batch in flight, which rolled back, and
the next run simply carries on. Rows are locked `FOR UPDATE SKIP LOCKED`, so the service keeps
running meanwhile. A hotline caller's hash cannot be redone: the number is not kept (it was
hashed so that it need not be), so those hashes stay as they are and still say their
algorithm."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

import mediation.models  # noqa: F401  (every table registered: foreign keys resolve)
from mediation.audit import chain as audit
from mediation.auth.models import User
from mediation.cases.models import CaseParty
from mediation.gmcrypto import SM3_PREFIX, CryptoProfile
from mediation.hotline.crypto import FieldCipher, Sealed
from mediation.hotline.models import HotlineCall
from mediation.privacy import keyed_hash
from mediation.settings import Settings

log = logging.getLogger("mediation.rekey")


@dataclass
class Progress:
    callback_numbers: int = 0
    party_hashes: int = 0
    totp_secrets: int = 0
    batches: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Sealed:
    """Where a kind of ciphertext lives: its key id and blob columns, and what it is bound to."""

    model: Any
    key_id: str
    blob: str
    context: Callable[[Any], bytes]


_CALLBACK = _Sealed(
    HotlineCall, "callback_key_id", "callback_number_enc", lambda call: call.id.bytes
)
# As mediation.auth.mfa seals a second-factor secret: bound to its account.
_TOTP = _Sealed(User, "totp_key_id", "totp_secret", lambda user: b"totp:" + user.id.bytes)


def _tick(
    done: Progress, counter: str, n: int, on_batch: Callable[[Progress], None] | None
) -> None:
    setattr(done, counter, getattr(done, counter) + n)
    if on_batch:
        on_batch(done)


async def _reseal(
    sessions: Callable[[], AsyncSession],
    cipher: FieldCipher,
    where: _Sealed,
    batch: int,
    after_batch: Callable[[int], None],
) -> None:
    """Ciphertexts not sealed with the current key and algorithm, opened and sealed again,
    bound to the same record; batch by batch (`after_batch` hears how many each time)."""
    key_id, blob = getattr(where.model, where.key_id), getattr(where.model, where.blob)
    while True:
        async with sessions() as session, session.begin():
            rows = list(
                await session.scalars(
                    select(where.model)
                    .where(blob.is_not(None), key_id != cipher.current_key_id)
                    .order_by(where.model.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            if not rows:
                return
            for row in rows:
                context = where.context(row)
                sealed = Sealed(getattr(row, where.key_id), getattr(row, where.blob))
                again = cipher.encrypt(cipher.decrypt(sealed, context=context), context=context)
                setattr(row, where.key_id, again.key_id)
                setattr(row, where.blob, again.blob)
            audit.record(
                session,
                action="crypto.rekeyed",
                record_type=where.model.__tablename__,
                rows=len(rows),
                key_id=cipher.current_key_id,
            )
        after_batch(len(rows))


def _hash_is_current(column: object, gm: bool) -> object:
    prefixed = column.like(f"{SM3_PREFIX}%")  # type: ignore[attr-defined]
    return prefixed if gm else ~prefixed


async def rekey(
    sessions: Callable[[], AsyncSession],
    settings: Settings,
    batch: int = 500,
    on_batch: Callable[[Progress], None] | None = None,
) -> Progress:
    profile = settings.crypto_profile
    gm = profile is CryptoProfile.gm
    cipher = FieldCipher.from_setting(settings.encryption_keys.get_secret_value(), profile)
    key = settings.pii_hash_key.get_secret_value()
    done = Progress()

    await _reseal(
        sessions, cipher, _CALLBACK, batch, lambda n: _tick(done, "callback_numbers", n, on_batch)
    )
    while True:  # party hashes of the other profile
        async with sessions() as session, session.begin():
            parties = list(
                await session.scalars(
                    select(CaseParty)
                    .where(
                        or_(
                            CaseParty.phone.is_not(None)
                            & ~_hash_is_current(CaseParty.phone_hash, gm),  # type: ignore[operator]
                            CaseParty.id_number.is_not(None)
                            & ~_hash_is_current(CaseParty.id_hash, gm),  # type: ignore[operator]
                        )
                    )
                    .order_by(CaseParty.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            if not parties:
                break
            for p in parties:
                p.phone_hash = keyed_hash(key, "phone", p.phone, profile) if p.phone else None
                p.id_hash = keyed_hash(key, "id", p.id_number, profile) if p.id_number else None
            audit.record(
                session,
                action="crypto.rekeyed",
                record_type="case_parties",
                rows=len(parties),
                profile=profile.value,
            )
        done.party_hashes += len(parties)
        if on_batch:
            on_batch(done)

    await _reseal(
        sessions, cipher, _TOTP, batch, lambda n: _tick(done, "totp_secrets", n, on_batch)
    )
    return done
