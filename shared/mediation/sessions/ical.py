"""An RFC 5545 iCalendar document of sessions, written by hand (no runtime dependency): CRLF
line ends, TEXT escaping, lines folded at 75 octets without splitting a UTF-8 character, and
times in Asia/Shanghai with its VTIMEZONE (China has kept +08:00 without daylight saving
since 1991, so one STANDARD component describes it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mediation.clock import CENTER_TZ

PRODID = "-//Mediation Center//Sessions 1.0//ZH"
TZID = "Asia/Shanghai"
REFRESH = "PT15M"  # how often subscribed calendar programs should fetch the feed again

_VTIMEZONE = (
    "BEGIN:VTIMEZONE",
    f"TZID:{TZID}",
    f"X-LIC-LOCATION:{TZID}",
    "BEGIN:STANDARD",
    "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0800",
    "TZOFFSETTO:+0800",
    "TZNAME:CST",
    "END:STANDARD",
    "END:VTIMEZONE",
)


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    starts_at: datetime
    ends_at: datetime
    summary: str
    updated_at: datetime
    sequence: int = 0
    location: str | None = None
    description: str | None = None
    url: str | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)
    status: str = "CONFIRMED"


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str, limit: int = 75) -> str:
    """Fold a content line into pieces of at most `limit` octets (§3.1); continuation lines
    start with one space, which counts towards their length."""
    out: list[str] = []
    current, size = "", 0
    budget = limit
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > budget:
            out.append(current)
            current, size, budget = "", 0, limit - 1
        current += ch
        size += n
    out.append(current)
    return "\r\n ".join(out)


def _local(value: datetime) -> str:
    return value.astimezone(CENTER_TZ).strftime("%Y%m%dT%H%M%S")


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def render_calendar(name: str, entries: Iterable[CalendarEntry], now: datetime) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"NAME:{escape_text(name)}",
        f"X-WR-TIMEZONE:{TZID}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
        f"X-PUBLISHED-TTL:{REFRESH}",
        *_VTIMEZONE,
    ]
    stamp = _utc(now)
    for e in entries:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{e.uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;TZID={TZID}:{_local(e.starts_at)}",
            f"DTEND;TZID={TZID}:{_local(e.ends_at)}",
            f"SUMMARY:{escape_text(e.summary)}",
            f"SEQUENCE:{e.sequence}",
            f"LAST-MODIFIED:{_utc(e.updated_at)}",
            f"STATUS:{e.status}",
            "TRANSP:OPAQUE",
        ]
        if e.location:
            lines.append(f"LOCATION:{escape_text(e.location)}")
        if e.description:
            lines.append(f"DESCRIPTION:{escape_text(e.description)}")
        if e.url:
            lines.append(f"URL:{e.url}")
        if e.categories:
            lines.append("CATEGORIES:" + ",".join(escape_text(c) for c in e.categories))
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")
