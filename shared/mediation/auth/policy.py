"""The authorization policy, written once: which role may do what. Scope (which subtree) is
separate and comes from where the role is held."""

from __future__ import annotations

from enum import StrEnum

from mediation.org.enums import Role


class Permission(StrEnum):
    reference_write = "reference:write"
    units_read = "units:read"
    units_write = "units:write"
    people_read = "people:read"
    people_write = "people:write"
    users_write = "users:write"
    # Giving and ending roles: the security administrator's (三员分立), not the system's.
    roles_assign = "roles:assign"
    # The audit trail: the audit administrator reads and exports it and changes nothing.
    audit_read = "audit:read"
    clients_write = "clients:write"
    access_log_read = "access_log:read"
    pii_read = "pii:read"
    cases_read = "cases:read"
    cases_create = "cases:create"
    cases_dispatch = "cases:dispatch"
    cases_handle = "cases:handle"
    # Adding evidence to a case file: dispatchers and the case's handlers always, the person
    # who reported it while the case is open (the service checks which of these the caller is).
    cases_evidence = "cases:evidence"
    cases_close = "cases:close"
    sessions_read = "sessions:read"
    sessions_write = "sessions:write"
    hotline_read = "hotline:read"
    hotline_write = "hotline:write"
    hotline_review = "hotline:review"
    outreach_read = "outreach:read"
    outreach_write = "outreach:write"
    opinions_write = "opinions:write"
    stats_read = "stats:read"
    stats_compute = "stats:compute"
    webhooks_manage = "webhooks:manage"
    notifications_read = "notifications:read"
    imports_write = "imports:write"  # bring a center's history in (issue 20)
    notifications_configure = "notifications:configure"  # notification rules and templates


P = Permission

_CASE_WORKER = {P.units_read, P.cases_read, P.sessions_read, P.notifications_read, P.outreach_read}
_HANDLER = _CASE_WORKER | {
    P.cases_handle,
    P.cases_evidence,
    P.sessions_write,
    P.pii_read,
    P.people_read,
}
# The grid's heads and the owners' committee (业委会+三长制): they collect residents' problems,
# report disputes of their grid and add the evidence they gathered to what they reported.
_HEAD = {
    P.units_read,
    P.cases_read,
    P.cases_create,
    P.cases_evidence,
    P.notifications_read,
    P.outreach_read,
    P.opinions_write,
}
_HOTLINE = {P.units_read, P.notifications_read, P.hotline_read, P.hotline_write, P.outreach_read}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # 三员分立 (GB/T 22239-2019 8.1.4.2): three administrators no account may combine
    # (`ADMIN_ROLES`), none of whom reads case, session, hotline or outreach content.
    # 系统管理员: the organisation, reference data and the system's configuration.
    Role.system_admin: frozenset(
        {
            P.reference_write,
            P.units_read,
            P.units_write,
            P.people_read,
            P.people_write,
            P.clients_write,
            P.stats_read,
            P.stats_compute,
            P.webhooks_manage,
            P.notifications_read,
            P.notifications_configure,
            P.imports_write,
        }
    ),
    # 安全管理员: accounts, role assignments, unlocking and resetting credentials.
    Role.security_admin: frozenset(
        {P.units_read, P.people_read, P.users_write, P.roles_assign, P.notifications_read}
    ),
    # 审计管理员: reads and exports the audit trail and the access log; changes nothing.
    Role.audit_admin: frozenset(
        {P.units_read, P.access_log_read, P.audit_read, P.notifications_read}
    ),
    Role.supervisor: frozenset(
        _HANDLER
        | {
            P.cases_create,
            P.cases_dispatch,
            P.cases_close,
            P.opinions_write,
            P.stats_read,
            P.stats_compute,
            P.outreach_write,
        }
    ),
    Role.dispatcher: frozenset(
        _HANDLER
        | {
            P.cases_create,
            P.cases_dispatch,
            P.cases_close,
            P.stats_read,
            P.outreach_write,
            P.opinions_write,
            P.imports_write,
        }
    ),
    Role.grid_head: frozenset(_HEAD | {P.pii_read, P.outreach_write}),
    Role.building_head: frozenset(_HEAD),
    Role.unit_head: frozenset(_HEAD),
    Role.owners_committee: frozenset(_HEAD),
    Role.police: frozenset(_HANDLER | {P.cases_create, P.outreach_write}),
    Role.legal_advisor: frozenset(_HANDLER | {P.outreach_write}),
    Role.mediator: frozenset(_HANDLER | {P.cases_create}),
    Role.judicial_mediator: frozenset(_HANDLER),
    # Counselors handle cases on the psychological-counseling channel.
    Role.counselor: frozenset(
        _HOTLINE
        | {
            P.cases_read,
            P.cases_create,
            P.cases_handle,
            P.cases_evidence,
            P.sessions_read,
            P.outreach_write,
        }
    ),
    Role.hotline_supervisor: frozenset(
        # The workstation's supervisor audits reads of hotline records (and only those:
        # the access-log route filters by record type).
        _HOTLINE
        | {
            P.hotline_review,
            P.cases_read,
            P.cases_create,
            P.cases_evidence,
            P.stats_read,
            P.outreach_write,
            P.access_log_read,
        }
    ),
}

# What another government system may be granted as OAuth scopes.
CLIENT_GRANTABLE: frozenset[Permission] = frozenset(
    {P.units_read, P.cases_read, P.cases_create, P.sessions_read, P.stats_read, P.outreach_read}
)


def permissions_for(roles: set[Role]) -> frozenset[Permission]:
    out: set[Permission] = set()
    for role in roles:
        out |= ROLE_PERMISSIONS[role]
    return frozenset(out)


# The three administrators of 三员分立: a person holding one of them holds no other role.
ADMIN_ROLES: frozenset[Role] = frozenset({Role.system_admin, Role.security_admin, Role.audit_admin})
