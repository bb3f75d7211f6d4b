"""After the load: what the database holds against what the clients were told, what the
receivers got against what the service decided to send, and the cron slots."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from ha_drill.load import Outcomes, Receiver

# (table, column holding the marker, prefix before it)
MARKED = {
    "case": ("cases", "title", "演练纠纷 "),
    "call": ("hotline_calls", "summary", "演练来电 "),
    "session": ("mediation_sessions", "place", "演练调解室 "),
}


@dataclass
class Verdict:
    accepted: int = 0
    found: int = 0
    lost: int = 0
    duplicated: int = 0
    notifications: int = 0
    delivered: int = 0
    redelivered: int = 0
    cron_runs: int = 0
    cron_doubled: int = 0
    exited: list[str] = field(default_factory=list)  # services that ended by themselves
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.cron_doubled == 0
            and self.delivered == self.notifications
            and not self.exited
        )


async def _settled(conn: asyncpg.Connection, seconds: float) -> bool:
    """Waits for the workers to finish: every outbox event processed, no delivery pending."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM outbox_events WHERE processed_at IS NULL) AS events,"
            " (SELECT count(*) FROM deliveries WHERE status = 'pending') AS pending"
        )
        if row is not None and row["events"] == 0 and row["pending"] == 0:
            return True
        await asyncio.sleep(1)
    return False


async def verify(url: str, outcomes: Outcomes, receiver: Receiver, settle_s: float) -> Verdict:
    v = Verdict()
    conn = await asyncpg.connect(url, timeout=10)
    try:
        for kind, (table, column, prefix) in MARKED.items():
            rows = await conn.fetch(
                f"SELECT substr({column}, $2) AS marker, count(*) AS n FROM {table}"
                f" WHERE {column} LIKE $1 GROUP BY 1",
                prefix + "%",
                len(prefix) + 1,
            )
            stored = {r["marker"]: r["n"] for r in rows}
            accepted = outcomes.accepted[kind]
            v.accepted += len(accepted)
            v.found += sum(1 for m in accepted if stored.get(m) == 1)
            v.lost += sum(1 for m in accepted if m not in stored)
            doubled = sum(n - 1 for n in stored.values() if n > 1)
            v.duplicated += doubled
            # Writes the clients gave up on or never heard back about (setup's are not markers).
            unanswered = len({m for m in stored if m.startswith("m")} - set(accepted))
            v.notes.append(
                f"{kind}: accepted={len(accepted)} stored={sum(stored.values())} "
                f"doubled={doubled} stored-but-not-acknowledged={unanswered}"
            )
        if not await _settled(conn, settle_s):
            v.notes.append(f"workers had not settled after {settle_s:.0f} s")
        deliveries = await conn.fetch(
            "SELECT id, channel, status, message->>'webhook_id' AS webhook_id, event_id"
            " FROM deliveries WHERE status NOT IN ('skipped', 'cancelled')"
        )
        v.notifications = len(deliveries)
        # Inbox messages per event (one per user: a unique constraint); an inbox delivery
        # counts as delivered when its event has that many messages.
        inbox: Counter[str] = Counter(
            str(r["event_id"]) for r in await conn.fetch("SELECT event_id FROM notifications")
        )
        by_channel: Counter[str] = Counter()
        for d in deliveries:
            by_channel[d["channel"]] += 1
            if d["status"] != "delivered":
                continue
            if d["channel"] == "webhook":
                if receiver.webhooks.get(d["webhook_id"] or "", 0) >= 1:
                    v.delivered += 1
            elif d["channel"] == "inbox":
                if inbox[str(d["event_id"])] > 0:
                    inbox[str(d["event_id"])] -= 1
                    v.delivered += 1
            elif d["channel"] == "sms":
                if receiver.sms.get(str(d["id"]), 0) >= 1:
                    v.delivered += 1
            else:
                v.delivered += 1
        # The same message twice at a receiver: a resend after a send whose outcome was lost
        # (the worker killed mid-send). Receivers drop it: Standard Webhooks by webhook-id,
        # the SMS gateway by the Idempotency-Key (the delivery id) of the request.
        v.redelivered = sum(n - 1 for n in receiver.webhooks.values() if n > 1)
        v.redelivered += sum(n - 1 for n in receiver.sms.values() if n > 1)
        per_receiver = await conn.fetchval(
            "SELECT count(*) - count(DISTINCT (event_id, channel, recipient)) FROM deliveries"
        )
        inbox_doubled = await conn.fetchval(
            "SELECT count(*) - count(DISTINCT (event_id, user_id)) FROM notifications"
        )
        v.duplicated += int(per_receiver or 0) + int(inbox_doubled or 0)
        v.notes.append(
            "notifications by channel: "
            + ", ".join(f"{k}={n}" for k, n in sorted(by_channel.items()))
            + f"; webhook messages received={sum(receiver.webhooks.values())}"
            f" (distinct {len(receiver.webhooks)}), sms received={sum(receiver.sms.values())}"
            f" (distinct {len(receiver.sms)})"
        )
        crons = await conn.fetch("SELECT job, slot, count(*) AS n FROM cron_runs GROUP BY 1, 2")
        v.cron_runs = len(crons)
        v.cron_doubled = sum(r["n"] - 1 for r in crons if r["n"] > 1)
    finally:
        await conn.close()
    return v
