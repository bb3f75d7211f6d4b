"""Archiving the audit trail (网络安全法 Art. 21: kept at least 180 days): entries older than
the retention go to a JSON-lines file whose chain verifies on its own, and leave the table;
the table keeps an anchor (the last archived entry's `seq` and hash) where its own chain now
starts, so `verify` of what remains still passes.

Order of work, for a crash at any point: the file is written and synced first, then, in one
transaction, the anchor is added and the archived entries are deleted. A crash before the
commit leaves the table as it was (run again: the file is rewritten)."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from mediation.audit.chain import HEAD_SQL, Verdict, latest_anchor, verify
from mediation.audit.models import AuditAnchor, AuditEvent

HEADER = "mediation-audit-archive"
COLUMNS = tuple(AuditEvent.__table__.columns.keys())


@dataclass(frozen=True)
class Archived:
    entries: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None


def _line(e: AuditEvent) -> str:
    row: dict[str, Any] = {c: getattr(e, c) for c in COLUMNS}
    row["at"] = e.at.astimezone(UTC).isoformat(timespec="microseconds")
    for key in ("actor_id", "record_id"):
        row[key] = str(row[key]) if row[key] else None
    return json.dumps(row, ensure_ascii=False, sort_keys=True)


def _row(line: str) -> dict[str, Any]:
    row = json.loads(line)
    row["at"] = datetime.fromisoformat(row["at"])
    for key in ("actor_id", "record_id"):
        row[key] = uuid.UUID(row[key]) if row[key] else None
    return row


async def archive(session: Any, path: Path, retention_days: int, now: datetime) -> Archived:
    """Moves every entry older than `retention_days` to `path` (in one transaction)."""
    cutoff = now - timedelta(days=retention_days)
    async with session.begin():
        # One chain, one writer: no entry is chained while the anchor moves.
        await session.execute(HEAD_SQL, {"notify": False})  # the writers' lock, the same key
        after_seq, after_hash = await latest_anchor(session)
        upto = await session.scalar(
            select(func.max(AuditEvent.seq)).where(
                AuditEvent.at < cutoff, AuditEvent.seq > after_seq
            )
        )
        if upto is None:
            return Archived(0, None, None, None)
        rows = list(
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq > after_seq, AuditEvent.seq <= upto)
                .order_by(AuditEvent.seq)
            )
        )
        header = {
            "format": HEADER,
            "after_seq": after_seq,
            "after_hash": after_hash,
            "archived_at": now.astimezone(UTC).isoformat(),
        }
        tmp = path.with_suffix(path.suffix + ".partial")
        with tmp.open("w", encoding="utf-8") as f:
            f.write(json.dumps(header) + "\n")
            for e in rows:
                f.write(_line(e) + "\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        last = rows[-1]
        session.add(
            AuditAnchor(
                seq=last.seq,
                hash=last.hash,
                archived_at=now,
                file=str(path)[:500],
                entries=len(rows),
            )
        )
        await session.flush()
        await session.execute(delete(AuditEvent).where(AuditEvent.seq <= upto))
    return Archived(len(rows), rows[0].seq, last.seq, last.hash)


@dataclass(frozen=True)
class FileVerdict:
    verdict: Verdict
    after_seq: int
    last_seq: int | None
    last_hash: str | None


def verify_file(path: Path) -> FileVerdict:
    """The archive's own chain, from the anchor it continues (its header)."""
    with path.open(encoding="utf-8") as f:
        header = json.loads(f.readline())
        if header.get("format") != HEADER:
            raise ValueError(f"{path} is not an audit archive")
        rows = [_row(line) for line in f if line.strip()]
    verdict = verify(rows, header["after_seq"], header["after_hash"])
    last = rows[-1] if rows else None
    return FileVerdict(
        verdict, header["after_seq"], last["seq"] if last else None, last["hash"] if last else None
    )
