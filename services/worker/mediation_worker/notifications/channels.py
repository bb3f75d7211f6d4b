"""The four outward channels. Each send returns an Outcome and never raises: whether to retry is
decided by the caller from `permanent` / `gone`, so a receiver's failure is a recorded state,
not a crashed job."""

from __future__ import annotations

import asyncio
import json
import smtplib
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import propagate

from mediation.notifications import webhooks
from mediation.settings import Settings
from mediation_worker.notifications.http import HttpError, Response
from mediation_worker.notifications.runtime import Runtime

EXCERPT = 500


@dataclass(frozen=True)
class Pending:
    """What a send needs of a delivery row (and of its subscription, for webhooks)."""

    id: uuid.UUID
    channel: str
    message: dict[str, Any]
    urgent: bool
    url: str | None = None
    secret: str | None = None
    previous_secret: str | None = None  # still in its overlap window after a rotation


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None
    permanent: bool = False  # no retry can help (a refused address, a bad request)
    gone: bool = False  # webhook receiver answered 410: disable the subscription


def _excerpt(response: Response) -> str | None:
    return response.text[:EXCERPT] or None


def _answered(
    response: Response, error: str | None = None, *, permanent: bool = False, gone: bool = False
) -> Outcome:
    """The outcome of a send the receiver answered: delivered unless `error` says why not."""
    return Outcome(
        error is None,
        status_code=response.status,
        error=error,
        excerpt=_excerpt(response),
        permanent=permanent,
        gone=gone,
    )


def _failure(exc: Exception) -> Outcome:
    kind = type(exc).__name__
    return Outcome(False, error=(f"{kind}: {exc}" if str(exc) else kind)[:2000])


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- email


def _smtp_send(settings: Settings, message: EmailMessage) -> None:
    timeout = settings.notify_timeout_seconds
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host,
            settings.smtp_port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


async def send_email(rt: Runtime, d: Pending) -> Outcome:
    s = rt.settings
    msg = EmailMessage()
    msg["From"] = s.smtp_from
    msg["To"] = str(d.message.get("to") or "")
    msg["Subject"] = str(d.message.get("subject") or "")
    msg["Date"] = formatdate(localtime=False)
    # The same id on every try: a receiving system can recognise a repeat.
    msg["Message-ID"] = f"<{d.id}@{s.smtp_from.rpartition('@')[2] or 'mediation'}>"
    msg.set_content(str(d.message.get("body") or ""), charset="utf-8")
    try:  # smtplib blocks: in a thread, so the loop keeps serving the other sends
        await asyncio.to_thread(_smtp_send, s, msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return Outcome(
            False,
            status_code=codes[0] if codes else None,
            error=f"recipient refused: {exc.recipients}"[:2000],
            permanent=all(c >= 500 for c in codes),
        )
    except smtplib.SMTPResponseException as exc:
        return Outcome(
            False,
            status_code=exc.smtp_code,
            error=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:2000],
            permanent=exc.smtp_code >= 500,
        )
    except (smtplib.SMTPException, OSError) as exc:
        return _failure(exc)
    return Outcome(True, status_code=250)


# --------------------------------------------------------------------------- SMS gateway


async def send_sms(rt: Runtime, d: Pending) -> Outcome:
    s = rt.settings
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(d.id)}
    propagate.inject(headers)
    token = s.sms_gateway_token.get_secret_value()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = {
        "id": str(d.id),
        "phone": d.message.get("to"),
        "message": s.sms_signature + str(d.message.get("body") or ""),
        "urgent": d.urgent,
    }
    try:
        r = await rt.http.post(s.sms_gateway_url, _json(body), headers)
    except HttpError as exc:
        return _failure(exc)
    if 200 <= r.status < 300:
        return _answered(r)
    # 4xx (a bad number, a rejected text) will not pass on retry; 408/429 and 5xx may.
    permanent = 400 <= r.status < 500 and r.status not in (408, 425, 429)
    return _answered(r, f"gateway answered {r.status}", permanent=permanent)


# --------------------------------------------------------------------------- WeCom robot

_WECOM_RETRYABLE = {-1, 45009, 45033}  # system busy, rate limited, too many concurrent calls
_WECOM_MAX_BYTES = 4096


def _fit(text: str, limit: int) -> str:
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode(errors="ignore") + "..."


async def send_wecom(rt: Runtime, d: Pending) -> Outcome:
    content = _fit(str(d.message.get("markdown") or ""), _WECOM_MAX_BYTES)
    body = {"msgtype": "markdown", "markdown": {"content": content}}
    try:
        r = await rt.http.post(
            rt.settings.wecom_webhook_url, _json(body), {"Content-Type": "application/json"}
        )
    except HttpError as exc:
        return _failure(exc)
    if not 200 <= r.status < 300:
        return _answered(r, f"WeCom answered {r.status}")
    try:
        answer: Any = json.loads(r.body)
        code = int(answer.get("errcode", -1))
        errmsg = str(answer.get("errmsg", ""))
    except (ValueError, AttributeError, TypeError):
        return _answered(r, "WeCom answer is not JSON")
    if code == 0:
        return _answered(r)
    return _answered(r, f"WeCom errcode {code}: {errmsg}", permanent=code not in _WECOM_RETRYABLE)


# --------------------------------------------------------------------------- webhooks

_DNS_TTL = 60.0
_dns_cache: dict[tuple[str, int], tuple[float, str | None]] = {}


async def _blocked(url: str, allow_loopback: bool) -> str | None:
    """Checked again at send time: a name may resolve differently than when it was saved."""
    parts = urlsplit(url)
    host = (parts.hostname or "").strip("[]")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    key = (host, port)
    hit = _dns_cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    reason: str | None = None
    try:
        webhooks.check_url(url, allow_loopback=allow_loopback)
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        for info in infos:
            reason = webhooks.blocked_address(str(info[4][0]), allow_loopback)
            if reason:
                break
    except OSError:
        reason = None  # unresolvable: the request fails on its own and is retried
    except Exception as exc:  # check_url refused it
        reason = str(exc)
    _dns_cache[key] = (time.monotonic() + _DNS_TTL, reason)
    return reason


async def send_webhook(rt: Runtime, d: Pending) -> Outcome:
    assert d.url is not None and d.secret is not None
    why = await _blocked(d.url, rt.settings.webhook_allow_loopback)
    if why:
        return Outcome(False, error=f"blocked: {why}"[:2000])
    body = str(d.message["body"]).encode()
    # Signed with the real time of this try: receivers reject old timestamps (replay guard).
    older = (d.previous_secret,) if d.previous_secret else ()
    headers = webhooks.headers(
        d.secret, str(d.message["webhook_id"]), int(time.time()), body, *older
    )
    propagate.inject(headers)  # traceparent of this try's span (nothing when tracing is off)
    try:
        r = await rt.http.post(d.url, body, headers)
    except HttpError as exc:
        return _failure(exc)
    if 200 <= r.status < 300:
        return _answered(r)
    return _answered(r, f"receiver answered {r.status}", gone=r.status == 410)


SENDERS = {"email": send_email, "sms": send_sms, "wecom": send_wecom, "webhook": send_webhook}
