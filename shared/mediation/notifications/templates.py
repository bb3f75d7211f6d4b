"""Message templates: Jinja2 in a sandbox with StrictUndefined. A template is checked when it is
configured (syntax, every name it uses is a variable of its event type, and it renders against
the event's sample payload), so delivery never meets an unknown variable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from mediation.clock import CENTER_TZ
from mediation.errors import Unprocessable
from mediation.notifications import catalog
from mediation.notifications.enums import Channel
from mediation.notifications.problems import TEMPLATE_INVALID

# What a channel can carry: SMS gateways split long texts and bill per part.
MAX_SUBJECT = 200
MAX_BODY = {Channel.sms: 300, Channel.wecom: 4000, Channel.inbox: 4000, Channel.email: 20000}


def _local(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Render an RFC 3339 string or datetime in the center's zone (Asia/Shanghai)."""
    if value in (None, ""):
        return ""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        return when.strftime(fmt)
    return when.astimezone(CENTER_TZ).strftime(fmt)


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["local"] = _local
    return env


ENV = _environment()


@lru_cache(maxsize=512)
def _compile(source: str) -> Any:
    return ENV.from_string(source)


@dataclass(frozen=True)
class TemplateText:
    """A template for one event type and channel: `subject` is the inbox title or the email
    subject (unused by SMS and WeCom)."""

    subject: str | None
    body: str


def validate(event_type: str, channel: Channel, subject: str | None, body: str) -> None:
    """Raise Unprocessable (422) unless both parts parse, use only known variables and render
    against the sample payload within the channel's size."""
    allowed = catalog.template_variables(event_type)
    parts = [("body.subject", subject), ("body.body", body)]
    errors: list[dict[str, str]] = []
    rendered: dict[str, str] = {}
    for field, source in parts:
        if source is None:
            continue
        try:
            names = meta.find_undeclared_variables(ENV.parse(source))
        except TemplateSyntaxError as exc:
            errors.append(
                {
                    "field": field,
                    "message": f"Template syntax error on line {exc.lineno}: {exc.message}",
                }
            )
            continue
        unknown = sorted(names - set(allowed))
        if unknown:
            errors.append(
                {
                    "field": field,
                    "message": (
                        f"Unknown variable(s) {', '.join(unknown)} for {event_type}; "
                        f"available: {', '.join(sorted(allowed))}."
                    ),
                }
            )
            continue
        try:
            rendered[field] = _compile(source).render(allowed)
        except Exception as exc:  # any render failure is the template's fault: say so now
            errors.append(
                {
                    "field": field,
                    "message": f"Does not render with a sample {event_type} event: {exc}",
                }
            )
    if not errors:
        if len(rendered.get("body.subject", "")) > MAX_SUBJECT:
            errors.append(
                {
                    "field": "body.subject",
                    "message": f"Renders longer than {MAX_SUBJECT} characters.",
                }
            )
        if len(rendered.get("body.body", "")) > MAX_BODY[channel]:
            errors.append(
                {
                    "field": "body.body",
                    "message": (
                        f"Renders longer than {MAX_BODY[channel]} characters for {channel.value}."
                    ),
                }
            )
    if channel in (Channel.inbox, Channel.email) and not (subject or "").strip():
        errors.append(
            {"field": "body.subject", "message": f"A {channel.value} template needs a subject."}
        )
    if errors:
        raise Unprocessable(
            "The template cannot be used; see errors.", errors=errors, code=TEMPLATE_INVALID
        )


# The environment's globals (range, dict, ...), as a plain dict once: `Template.render` merges
# them with the variables from a ChainMap for every text, a tenth of the worker's CPU per
# fanned-out event (eleven inbox texts of a new case, subject and body each).
_GLOBALS = dict(ENV.globals)


def _render_one(source: str, context: dict[str, Any]) -> str:
    template = _compile(source)
    return "".join(template.root_render_func(template.new_context({**_GLOBALS, **context}, True)))


def render(text: TemplateText, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body). The context holds every catalogue variable (missing payload fields as
    empty strings), so a validated template cannot fail on a name."""
    subject = _render_one(text.subject, context).strip() if text.subject else ""
    body = _render_one(text.body, context).strip()
    return subject[:MAX_SUBJECT], body


def context_for(event_type: str, payload: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    """Every variable of the event type: the payload's value, else an empty string."""
    names = catalog.template_variables(event_type)
    ctx: dict[str, Any] = {name: "" for name in names}
    ctx.update(common)
    for name in catalog.spec(event_type).variables:
        if name in payload and payload[name] is not None:
            ctx[name] = payload[name]
    return ctx
