"""The iCalendar (RFC 5545) feed of a mediator's sessions, for calendar programs to subscribe
to (Outlook, Apple Calendar, Thunderbird, a phone's calendar).

Calendar programs cannot send a bearer token, so the feed address carries a secret instead:
`GET /api/v1/sessions/calendar/{token}.ics`. A person issues (or re-issues, which turns the
old address off) their own with `POST /api/v1/me/calendar-feed`; a dispatcher may issue one
for a mediator of their jurisdiction who has no account (a judge, an outside legal advisor)
with `POST /api/v1/people/{person_id}/calendar-feed` (that address lists only the sessions in
the dispatcher's jurisdiction). Only the token's SHA-256 is stored, so a
leaked database does not leak working addresses; the token is shown once.

The feed lists the person's sessions from 30 days back to a year ahead, cancelled ones left
out (the calendar then drops them). Because the address can end up in a phone or a cloud
calendar, the events carry no personal data of the parties: case number, kind, mode, place,
mediators; the rest is behind sign-in."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.clock import center_date
from mediation.errors import Forbidden, NotFound, Unprocessable
from mediation.org.models import Person
from mediation.sessions.enums import MEDIATING_ROLES
from mediation.sessions.ical import CalendarEntry, render_calendar
from mediation.sessions.models import MediationSession, SessionMediator
from mediation.sessions.rules import MEDIATOR_WITHOUT_ROLE
from mediation_api.actions import ActionCall, action_route
from mediation_api.deps import Session, State, require
from mediation_api.problems import responses
from mediation_api.sessions.contracts import CalendarFeedOut
from mediation_api.sessions.repository import SessionRepository

router = APIRouter(tags=["sessions"])

FEED_PATH = "/api/v1/sessions/calendar/{token}.ics"
PAST = timedelta(days=30)
AHEAD = timedelta(days=366)
# A feed's last use is written at most this often (calendar programs poll every few minutes).
TOUCH_EVERY = timedelta(hours=1)
MEDIA_TYPE = "text/calendar; charset=utf-8"

FeedToken = Annotated[
    str,
    Path(
        min_length=20,
        max_length=100,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The secret token of the feed address.",
    ),
]
PersonId = Annotated[uuid.UUID, Path(description="The mediator's person id.")]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _entry(ms: MediationSession, mediators: list[tuple[SessionMediator, str]]) -> CalendarEntry:
    names = "、".join(f"{name}（{m.role.label_zh}）" for m, name in mediators)
    where = ms.place if ms.place else ms.mode.label_zh
    lines = [
        f"案件编号：{ms.case_number}",
        f"调解类型：{ms.kind.label_zh}",
        f"调解方式：{ms.mode.label_zh}",
        f"调解员：{names}",
    ]
    if ms.meeting_info:
        lines.append(f"会议信息：{ms.meeting_info}")
    if ms.outcome is not None:
        lines.append(f"调解结果：{ms.outcome.label_zh}")
    lines.append("当事人信息请登录系统查看。")
    return CalendarEntry(
        uid=f"{ms.id}@sessions.mediation-center",
        starts_at=ms.starts_at,
        ends_at=ms.held_ended_at or ms.ends_at,  # once held: when it really ended
        summary=f"调解会：{ms.case_number}（{ms.kind.label_zh}）",
        updated_at=ms.updated_at,
        sequence=ms.version - 1,
        location=where,
        description="\n".join(lines),
        categories=(ms.kind.label_zh, "调解会"),
    )


async def _issue(
    request: Request,
    repo: SessionRepository,
    person: Person,
    now: datetime,
    by: str,
    scope_paths: list[str] | None = None,
) -> CalendarFeedOut:
    token = secrets.token_urlsafe(32)
    feed = await repo.issue_feed(person.id, token_hash(token), now, by, scope_paths)
    path = FEED_PATH.format(token=token)
    base = str(request.base_url).rstrip("/")
    return CalendarFeedOut(
        person_id=person.id, url=base + path, path=path, token=token, created_at=feed.created_at
    )


ReadPrincipal = Annotated[Principal, Depends(require(Permission.sessions_read))]
WritePrincipal = Annotated[Principal, Depends(require(Permission.sessions_write))]


@router.get(
    "/sessions/calendar/{feed_token}.ics",
    operation_id="sessions-calendar-feed",
    summary="iCalendar feed of a mediator's sessions",
    description="RFC 5545, UTF-8, times in Asia/Shanghai with its VTIMEZONE. No bearer token: "
    "the secret in the address is the credential (see `sessions-feed-issue`). An unknown or "
    "replaced token is a 404.",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The iCalendar document."},
        **responses(404, 422, 429),
    },
)
async def calendar_feed(feed_token: FeedToken, session: Session, state: State) -> Response:
    now = state.clock.now()
    digest = token_hash(feed_token)
    # No principal to count: the feed is rate-limited per address instead.
    await state.limiter.hit(f"feed:{digest[:16]}", now.timestamp())
    repo = SessionRepository(session)
    feed = await repo.feed_by_hash(digest)
    if feed is None:
        raise NotFound("No calendar feed at this address (it may have been replaced).")
    if feed.last_used_at is None or feed.last_used_at < now - TOUCH_EVERY:
        feed.last_used_at = now
    sessions = await repo.feed_sessions(feed.person_id, now - PAST, now + AHEAD, feed.scope_paths)
    mediators = await repo.mediators_of([s.id for s in sessions])
    name = (await repo.person_names({feed.person_id})).get(feed.person_id, "")
    body = render_calendar(
        f"{name}的调解会", [_entry(s, mediators.get(s.id, [])) for s in sessions], now
    )
    return Response(
        body,
        media_type=MEDIA_TYPE,
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": 'inline; filename="sessions.ics"',
        },
    )


async def _issue_mine(call: ActionCall) -> Response:
    session, principal = call.deps["session"], call.deps["principal"]
    if principal.person_id is None:
        raise Forbidden("Calendar feeds belong to people; an integration client has none.")
    repo = SessionRepository(session)
    person = await session.get(Person, principal.person_id)
    if person is None:
        raise NotFound("Your person record is missing.")
    now = call.deps["state"].clock.now()
    out = await _issue(call.deps["request"], repo, person, now, principal.name)
    return await call.answer(out, 201)


action_route(
    router,
    "/me/calendar-feed",
    precondition=False,
    deps=[
        ("request", Request),
        ("session", Session),
        ("state", State),
        ("principal", ReadPrincipal),
    ],
    handle=_issue_mine,
    operation_id="sessions-feed-issue",
    summary="Issue my calendar feed address",
    description="A secret address of the caller's own sessions as an iCalendar feed, for "
    "calendar programs (which cannot send bearer tokens). Issuing again replaces the address "
    "(the old one stops working). The token is shown only in this answer. For people with an "
    "account. Supports `Idempotency-Key`.",
    status_code=201,
    response_model=CalendarFeedOut,
    responses=responses(401, 403, 409, 422),
)


@router.delete(
    "/me/calendar-feed",
    operation_id="sessions-feed-revoke",
    summary="Turn my calendar feed address off",
    description="The address stops working at once (404). Nothing to turn off is a 404.",
    status_code=204,
    responses=responses(401, 403, 404),
)
async def revoke_my_feed(session: Session, principal: ReadPrincipal) -> Response:
    if principal.person_id is None or not await SessionRepository(session).revoke_feed(
        principal.person_id
    ):
        raise NotFound("You have no calendar feed.")
    return Response(status_code=204)


async def _issue_for_person(call: ActionCall) -> Response:
    session, principal = call.deps["session"], call.deps["principal"]
    if not principal.can(Permission.cases_dispatch):
        raise Forbidden("Issuing someone else's calendar feed is for dispatchers.")
    repo = SessionRepository(session)
    person = await repo.person_in_scope(call.deps["person_id"], principal)
    if person is None:
        raise NotFound("No person with this id in your jurisdiction.")
    now = call.deps["state"].clock.now()
    today = center_date(now)
    roles = await repo.role_units({person.id}, set(MEDIATING_ROLES), today)
    if not roles:
        raise Unprocessable(
            "This person holds no mediating role.",
            field="path.person_id",
            code=MEDIATOR_WITHOUT_ROLE,
        )
    # The feed lists every session of theirs: whoever hands it out reads it.
    since = center_date(now - PAST)
    if await repo.mediates_outside(person.id, principal, set(MEDIATING_ROLES), since):
        raise Forbidden(
            "This person also mediates outside your jurisdiction, and their feed would show "
            "those sessions too: a dispatcher whose jurisdiction covers all of it issues it."
        )
    # And keeps listing only what the issuer could read when it was issued: the address stays
    # in their hands after the person takes a role elsewhere.
    scope = list(principal.scope_paths)
    out = await _issue(call.deps["request"], repo, person, now, principal.name, scope)
    return await call.answer(out, 201)


action_route(
    router,
    "/people/{person_id}/calendar-feed",
    precondition=False,
    deps=[
        ("person_id", PersonId),
        ("request", Request),
        ("session", Session),
        ("state", State),
        ("principal", WritePrincipal),
    ],
    handle=_issue_for_person,
    operation_id="sessions-feed-issue-for-person",
    summary="Issue a mediator's calendar feed address",
    description="For a mediator of the caller's jurisdiction, e.g. a judge or an outside "
    "legal advisor without an account: the address to hand over. Replaces the person's "
    "earlier address. Dispatchers (403 otherwise) whose jurisdiction covers every place the "
    "person mediates (403 otherwise: the feed lists all their sessions). The address lists "
    "only sessions in the caller's jurisdiction, also after the person takes a role elsewhere. "
    "The person must hold a mediating role (422). Supports `Idempotency-Key`.",
    status_code=201,
    response_model=CalendarFeedOut,
    responses=responses(401, 403, 404, 409, 422),
)


__all__ = ["router"]
