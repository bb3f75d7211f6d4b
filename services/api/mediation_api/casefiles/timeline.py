"""How printed documents word the case's timeline and its sessions: the case file's process
record (案件办理过程记录) and its list of sessions (调解会一览)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mediation.cases.enums import SESSION_EVENTS, CaseEventType
from mediation.cases.models import CaseEvent
from mediation.clock import CENTER_TZ
from mediation.sessions.enums import SessionKind, SessionMode, SessionOutcome
from mediation.sessions.models import MediationSession


def _when(starts_at: datetime, ends_at: datetime) -> str:
    start, end = starts_at.astimezone(CENTER_TZ), ends_at.astimezone(CENTER_TZ)
    last = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M}至{last}"


def _place(data: dict[str, Any]) -> str:
    mode = SessionMode(data["mode"])
    return data.get("place") or mode.label_zh


def _session_note(e: CaseEvent) -> str:
    d = e.data
    when = _when(datetime.fromisoformat(str(d["starts_at"])), _end(d))
    what = f"{when}，{_place(d)}，{SessionKind(d['kind']).label_zh}"
    if e.type is CaseEventType.session_rescheduled:
        before = d.get("before") or {}
        was = _when(
            datetime.fromisoformat(str(before["starts_at"])),
            datetime.fromisoformat(str(before["ends_at"])),
        )
        return f"改至{what}（原定{was}）。原因：{e.body}"
    if e.type is CaseEventType.session_held:
        outcome = SessionOutcome(d["outcome"]).label_zh
        late = "（事后补录）" if d.get("recorded_afterwards") else ""
        return f"{what}{late}。结果：{outcome}" + (f"（{e.body}）" if e.body else "")
    if e.type is CaseEventType.session_cancelled:
        return f"{what}。原因：{e.body}"
    if e.type is CaseEventType.session_updated:
        return f"{what}。调整了调解员、参加人或其他安排"
    return what


def _end(d: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(d.get("ended_at") or d["ends_at"]))


def timeline_rows(events: list[CaseEvent]) -> list[dict[str, Any]]:
    """One row per entry: when, what, who, and a note (the reason, the status change, or
    what happened to a session)."""
    rows = []
    for e in events:
        if e.type in SESSION_EVENTS:
            note = _session_note(e)
        elif e.body:
            note = e.body
        elif e.to_status:
            note = f"{e.from_status.label_zh if e.from_status else ''} → {e.to_status.label_zh}"
        else:
            note = ""
        rows.append({"at": e.at, "type": e.type.label_zh, "actor": e.actor_name, "body": note})
    return rows


def session_rows(sessions: list[MediationSession]) -> list[dict[str, Any]]:
    """Every session of the case, planned, held or cancelled, with its real end once held."""
    return [
        {
            "when": _when(s.starts_at, s.held_ended_at or s.ends_at),
            "kind": s.kind.label_zh,
            "mode": s.mode.label_zh,
            "place": s.place or s.meeting_info or s.mode.label_zh,
            "status": s.status.label_zh,
            "outcome": s.outcome.label_zh if s.outcome else None,
            "note": s.cancel_reason
            or (f"改期{s.reschedule_count}次" if s.reschedule_count else None),
        }
        for s in sessions
    ]
