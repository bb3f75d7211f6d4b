"""The case life cycle as explicit, pure rules: which action leads from which status to which,
what is allowed now, and who may perform it. The service applies them; nothing here touches
the database.

received → accepted | rejected; accepted → assigned → in_mediation → resolved | failed;
resolved | failed → followed_up → closed (failed may also close directly); withdrawn from any
open status; transfer and escalation move the case between handlers and levels; a closed,
rejected or withdrawn case can be reopened. Pausing (waiting on a party) is a flag on the
open statuses, not a status of its own, so the status history stays the business one.
"""

from __future__ import annotations

from datetime import datetime

from mediation.auth.policy import Permission
from mediation.cases.enums import CaseAction, CaseStatus, DeadlineStage
from mediation.errors import InvalidTransition

A = CaseAction
S = CaseStatus

OPEN: frozenset[CaseStatus] = frozenset({S.received, S.accepted, S.assigned, S.in_mediation})
TERMINAL: frozenset[CaseStatus] = frozenset({S.closed, S.rejected, S.withdrawn})

TRANSITIONS: dict[CaseAction, dict[CaseStatus, CaseStatus]] = {
    A.accept: {S.received: S.accepted},
    A.reject: {S.received: S.rejected},
    A.assign: {S.accepted: S.assigned},
    A.transfer: {S.assigned: S.assigned, S.in_mediation: S.assigned},
    # Escalation hands the case to the next level's dispatchers, who assign it again.
    A.escalate: {
        S.received: S.received,
        S.accepted: S.accepted,
        S.assigned: S.accepted,
        S.in_mediation: S.accepted,
    },
    A.start_mediation: {S.assigned: S.in_mediation},
    A.resolve: {S.in_mediation: S.resolved},
    A.fail: {S.in_mediation: S.failed},
    A.withdraw: {s: S.withdrawn for s in OPEN},
    A.follow_up: {S.resolved: S.followed_up, S.failed: S.followed_up, S.followed_up: S.followed_up},
    # A resolved case is closed only after its follow-up visit; a referred one may close now.
    A.close: {S.followed_up: S.closed, S.failed: S.closed},
    A.reopen: {S.closed: S.accepted, S.rejected: S.received, S.withdrawn: S.received},
    A.pause: {S.accepted: S.accepted, S.assigned: S.assigned, S.in_mediation: S.in_mediation},
    A.resume: {S.accepted: S.accepted, S.assigned: S.assigned, S.in_mediation: S.in_mediation},
    A.extend_deadline: {s: s for s in (*OPEN, S.resolved)},
}

# While the clock is paused only these make sense; the rest wait for `resume`.
WHILE_PAUSED: frozenset[CaseAction] = frozenset(
    {A.resume, A.withdraw, A.transfer, A.escalate, A.extend_deadline}
)

# The deadline that runs in each status (none in the others).
STAGE_OF_STATUS: dict[CaseStatus, DeadlineStage] = {
    S.received: DeadlineStage.first_response,
    S.accepted: DeadlineStage.mediation,
    S.assigned: DeadlineStage.mediation,
    S.in_mediation: DeadlineStage.mediation,
    S.resolved: DeadlineStage.follow_up,
}

# Dispatching actions need `cases:dispatch` (close: `cases:close`); handling actions may also
# be taken by a current handler holding `cases:handle`.
DISPATCH_ONLY: dict[CaseAction, Permission] = {
    A.accept: Permission.cases_dispatch,
    A.reject: Permission.cases_dispatch,
    A.assign: Permission.cases_dispatch,
    A.reopen: Permission.cases_dispatch,
    A.close: Permission.cases_close,
}


def _permitted(action: CaseAction, status: CaseStatus, paused: bool) -> bool:
    if status not in TRANSITIONS[action]:
        return False
    if action is A.pause:
        return not paused
    if action is A.resume:
        return paused
    return not paused or action in WHILE_PAUSED


def allowed_actions(status: CaseStatus, paused: bool = False) -> list[CaseAction]:
    """Actions the state allows now, in declaration order."""
    return [a for a in CaseAction if _permitted(a, status, paused)]


def next_status(status: CaseStatus, action: CaseAction, paused: bool = False) -> CaseStatus:
    """The status after `action`, or InvalidTransition (409) listing what is allowed now."""
    if not _permitted(action, status, paused):
        allowed = allowed_actions(status, paused)
        why = " while the clock is paused" if paused and status in TRANSITIONS[action] else ""
        raise InvalidTransition(
            f"`{action.value}` is not allowed on a case that is {status.value}{why}; "
            f"allowed now: {', '.join(a.value for a in allowed) or 'none'}.",
            case_status=status.value,
            paused=paused,
            allowed_actions=[a.value for a in allowed],
        )
    return TRANSITIONS[action][status]


def may_perform(action: CaseAction, permissions: frozenset[Permission], is_handler: bool) -> bool:
    """Whether a caller with these permissions (and handler or not) may take the action."""
    needed = DISPATCH_ONLY.get(action)
    if needed is not None:
        return needed in permissions
    if Permission.cases_dispatch in permissions:
        return True
    return is_handler and Permission.cases_handle in permissions


def outcome(
    status: CaseStatus, resolved_at: datetime | None, failed_at: datetime | None
) -> CaseStatus | None:
    """How the mediation ended (调解结果), which the status no longer says once the case is
    followed up or closed: resolved or failed (the later of the two after a reopen), rejected
    or withdrawn; None while it is still being handled."""
    if status in (S.resolved, S.failed, S.rejected, S.withdrawn):
        return status
    if status in (S.followed_up, S.closed):
        if resolved_at is not None and (failed_at is None or resolved_at >= failed_at):
            return S.resolved
        if failed_at is not None:
            return S.failed
    return None
