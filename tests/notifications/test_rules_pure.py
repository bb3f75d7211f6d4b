"""The pure pieces: URL checks, quiet hours, the retry schedule, signatures (against the
independent standardwebhooks library), and the built-in rules and texts themselves."""

from __future__ import annotations

import random
import time
from datetime import datetime

import pytest
from standardwebhooks import Webhook

from mediation.clock import CENTER_TZ
from mediation.errors import Unprocessable
from mediation.notifications import catalog, defaults, rules, templates, webhooks
from mediation.notifications.enums import Channel


@pytest.mark.parametrize(
    "url",
    [
        "https://receiver.example.gov.cn/hooks",
        "http://10.1.2.3:8080/x",
        "http://192.168.1.5/",
        "https://[2001:db8::1]/x",
    ],
)
def test_acceptable_urls(url: str) -> None:
    assert webhooks.check_url(url, allow_loopback=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8000/x",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://169.254.0.23/",
        "gopher://x/",
        "file:///etc/passwd",
        "http://",
        "http://x/#frag",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(Unprocessable):
        webhooks.check_url(url, allow_loopback=False)


def test_a_name_resolving_to_metadata_is_refused() -> None:
    with pytest.raises(Unprocessable):
        webhooks.check_url(
            "https://innocent.example/",
            allow_loopback=False,
            addresses=["10.0.0.1", "169.254.169.254"],
        )


def test_signature_is_what_standard_webhooks_libraries_verify() -> None:
    secret = webhooks.new_secret()
    body = '{"type":"case.assigned","timestamp":"2026-11-26T10:00:00+08:00","data":{"a":"中文"}}'
    ts = int(time.time())
    headers = webhooks.headers(secret, "msg_1", ts, body.encode())
    assert Webhook(secret).verify(body.encode(), headers)["data"] == {"a": "中文"}
    assert headers["webhook-signature"] == Webhook(secret).sign(
        "msg_1", datetime.fromtimestamp(ts), body
    )


def test_retry_schedule_with_jitter() -> None:
    rng = random.Random(7)
    delays = [webhooks.retry_delay(Channel.webhook, n, rng) for n in range(1, 11)]
    assert delays[-1] is None and webhooks.max_attempts(Channel.webhook) == 10
    for got, want in zip(delays[:-1], webhooks.WEBHOOK_RETRIES, strict=True):
        assert got is not None and abs(got - want) <= want * 0.1
    assert len({webhooks.retry_delay(Channel.webhook, 1) for _ in range(20)}) > 1  # jitter
    assert webhooks.max_attempts(Channel.sms) == 6


@pytest.mark.parametrize(
    ("local", "until"),
    [
        ((22, 0), (2026, 11, 27, 7, 0)),
        ((23, 59), (2026, 11, 27, 7, 0)),
        ((0, 30), (2026, 11, 26, 7, 0)),
        ((6, 59), (2026, 11, 26, 7, 0)),
        ((7, 0), None),
        ((12, 0), None),
        ((21, 59), None),
    ],
)
def test_quiet_hours(local: tuple[int, int], until: tuple[int, ...] | None) -> None:
    window = webhooks.parse_quiet_hours("22:00-07:00")
    now = datetime(2026, 11, 26, *local, tzinfo=CENTER_TZ)
    got = webhooks.quiet_until(now.astimezone(CENTER_TZ), window, CENTER_TZ)
    assert got == (datetime(*until, tzinfo=CENTER_TZ) if until else None)
    assert webhooks.quiet_until(now, webhooks.parse_quiet_hours(""), CENTER_TZ) is None
    day = webhooks.parse_quiet_hours("12:00-13:00")
    assert (webhooks.quiet_until(now, day, CENTER_TZ) is not None) == (local == (12, 0))


def test_every_built_in_rule_and_text_is_valid() -> None:
    for rule in defaults.BUILTIN_RULES:
        rules.validate_rule(rule.event_type, rule.recipients, rule.channels, rule.payload_match)
        for channel in rule.channels:
            text = defaults.resolve(rule.event_type, channel)
            _, body = templates.render(text, catalog.template_variables(rule.event_type))
            assert body
    for (event_type, channel), text in defaults.BUILTIN_TEMPLATES.items():
        templates.validate(event_type, channel, text.subject, text.body)
    assert len({r.code for r in defaults.BUILTIN_RULES}) == len(defaults.BUILTIN_RULES)


def test_missing_payload_fields_render_empty_not_fail() -> None:
    ctx = templates.context_for(
        "case.assigned", {"case_number": "X"}, {**catalog.COMMON_VARIABLES, "unit_name": ""}
    )
    text = defaults.resolve("case.assigned", Channel.inbox)
    subject, body = templates.render(text, ctx)
    assert subject == "新分派纠纷：X" and "纠纷X（）" in body and "「" not in body
    due = templates.context_for("case.deadline_due_soon", {"due_at": "2026-11-27T02:00:00Z"}, {})
    assert templates.render(templates.TemplateText(None, "{{ due_at|local }}"), due)[1] == (
        "2026-11-27 10:00"
    )


def test_subscription_patterns() -> None:
    assert catalog.pattern_matches("case.*", "case.assigned")
    assert not catalog.pattern_matches("case.*", "cases.x")
    assert catalog.pattern_matches("*", "anything")
    catalog.require_pattern("case.*", "f")
    with pytest.raises(Unprocessable):
        catalog.require_pattern("hotlin.*", "f")
    with pytest.raises(Unprocessable):  # internal types only: sent to no webhook
        catalog.require_pattern("hotline.*", "f")
