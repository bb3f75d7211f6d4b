"""Standard Webhooks 1.0 pieces both services need: secrets, signatures, which URLs are
acceptable, the retry schedule, and quiet hours for SMS. Pure functions, no I/O except the
optional DNS check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
import socket
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from mediation.errors import Unprocessable
from mediation.notifications.enums import Channel
from mediation.notifications.problems import WEBHOOK_URL_REFUSED

SECRET_PREFIX = "whsec_"

# API.md: retries at about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, then failed.
WEBHOOK_RETRIES: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
# People: a message that arrives half a day late is worth little; give up sooner.
PERSONAL_RETRIES: tuple[timedelta, ...] = WEBHOOK_RETRIES[:5]
JITTER = 0.1  # +-10 %: receivers that failed together do not get retried together


def retries_for(channel: Channel) -> tuple[timedelta, ...]:
    return WEBHOOK_RETRIES if channel is Channel.webhook else PERSONAL_RETRIES


def max_attempts(channel: Channel) -> int:
    return 1 + len(retries_for(channel))


def retry_delay(
    channel: Channel, failed_attempts: int, rng: random.Random | None = None
) -> timedelta | None:
    """Delay before the next attempt after `failed_attempts` failures; None when none is left."""
    schedule = retries_for(channel)
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    base = schedule[failed_attempts - 1].total_seconds()
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return timedelta(seconds=base * factor)


# -------------------------------------------------------------------------- secrets, signing


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes, *older: str) -> dict[str, str]:
    """`older`: secrets still in their overlap window after a rotation; their signatures
    follow the current one, space-separated, so a receiver on either secret verifies."""
    signature = " ".join(sign(s, msg_id, timestamp, body) for s in (secret, *older))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "mediation-center-webhooks/1.0",
    }


# -------------------------------------------------------------------------- URLs

# This service's own metadata and link-local addresses: a webhook must never reach them.
_BLOCKED = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this host"
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254, Tencent 169.254.0.23)
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "fe80::/10",
        "ff00::/8",
        "fd00:ec2::254/128",  # AWS metadata over IPv6
    )
]
_LOOPBACK = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
_BLOCKED_HOSTS = {
    "metadata",
    "metadata.google.internal",
    "metadata.tencentyun.com",
    "instance-data",
    "instance-data.ec2.internal",
}


def blocked_address(addr: str, allow_loopback: bool) -> str | None:
    """Why `addr` may not receive webhooks, or None."""
    ip = ipaddress.ip_address(addr)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for net in _BLOCKED:
        if ip in net:
            return f"{ip} is a link-local, metadata or reserved address"
    if not allow_loopback and any(ip in net for net in _LOOPBACK):
        return f"{ip} is this machine (loopback)"
    return None


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def check_url(
    url: str,
    *,
    allow_loopback: bool,
    field: str = "body.url",
    addresses: Iterable[str] | None = None,
) -> str:
    """Raise Unprocessable unless `url` is an absolute http(s) URL whose host is not a
    metadata, link-local or (unless allowed) loopback address. `addresses`: what the host
    resolves to, if known (the worker re-checks at delivery time)."""

    def bad(message: str) -> Unprocessable:
        return Unprocessable(
            f"The webhook URL is not acceptable: {message}.", field=field, code=WEBHOOK_URL_REFUSED
        )

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise bad(str(exc)) from exc
    if parts.scheme not in ("http", "https"):
        raise bad("use http:// or https://")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise bad("it has no host")
    if parts.username or parts.password:
        raise bad("put no credentials in the URL; receivers verify the signature instead")
    if parts.fragment:
        raise bad("a fragment is never sent; remove it")
    if host in _BLOCKED_HOSTS or host.endswith(".metadata.google.internal"):
        raise bad(f"{host} is a cloud metadata service")
    if not allow_loopback and (host == "localhost" or host.endswith(".localhost")):
        raise bad(f"{host} is this machine (loopback)")
    literal = _literal_ip(host)
    candidates = [literal] if literal else list(addresses or [])
    for addr in candidates:
        why = blocked_address(addr, allow_loopback)
        if why:
            raise bad(why)
    del port
    return url


# -------------------------------------------------------------------------- quiet hours


def parse_quiet_hours(spec: str) -> tuple[time, time] | None:
    """ "22:00-07:00" -> (22:00, 07:00); "" -> None (no quiet hours)."""
    spec = spec.strip()
    if not spec:
        return None
    start, _, end = spec.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def quiet_until(now: datetime, window: tuple[time, time] | None, tz: ZoneInfo) -> datetime | None:
    """When the quiet window that contains `now` ends, or None if `now` is outside it."""
    if window is None:
        return None
    start, end = window
    local = now.astimezone(tz)
    t = local.time()
    wraps = start > end  # 22:00-07:00 crosses midnight
    inside = (t >= start or t < end) if wraps else (start <= t < end)
    if not inside:
        return None
    day = local.date()
    if wraps and t >= start:
        day = day + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz)
