"""DATABASE_URL with several hosts (a Patroni or CloudNativePG cluster without a proxy):
`postgresql://user@db1:5432,db2:5432/mediation`. Every connection goes to the host that is
the writable primary now (target_session_attrs=read-write, as libpq and asyncpg do it), so
after a failover new connections find the new primary by themselves.

libpq and asyncpg read the comma list in the netloc; SQLAlchemy's URL parser does not, and
wants the hosts as repeated `host=` query parameters instead. One URL in the settings, two
renderings here."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ASYNC_SCHEME = "postgresql+asyncpg"
PLAIN_SCHEMES = ("postgresql", "postgres", ASYNC_SCHEME)
TARGET = "target_session_attrs"


def _split(url: str) -> tuple[str, str, list[str], str, list[tuple[str, str]]]:
    """scheme, userinfo ("user:pw@" or ""), hosts ("h:p"), path, query pairs."""
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    hosts = [h for h in hostlist.split(",") if h]
    return (
        parts.scheme,
        userinfo + "@" if userinfo else "",
        hosts,
        parts.path,
        parse_qsl(parts.query, keep_blank_values=True),
    )


def hosts(url: str) -> list[str]:
    return _split(url)[2]


def _with_target(query: list[tuple[str, str]], several: bool) -> list[tuple[str, str]]:
    # Several hosts and no choice made: the writable one. One host: as given (today's default).
    if several and not any(k == TARGET for k, _ in query):
        return [*query, (TARGET, "read-write")]
    return query


def plain_url(url: str) -> str:
    """libpq form (asyncpg.connect, psql, pg_dump): hosts stay a comma list."""
    scheme, userinfo, hostlist, path, query = _split(url)
    if scheme not in PLAIN_SCHEMES:
        return url
    if len(hostlist) <= 1:  # exactly as given, only the scheme plain
        return "postgresql" + url[len(scheme) :]
    query = _with_target(query, True)
    return urlunsplit(("postgresql", userinfo + ",".join(hostlist), path, urlencode(query), ""))


def async_url(url: str) -> str:
    """SQLAlchemy form: one host stays in the netloc, several become `host=h:p` parameters."""
    scheme, userinfo, hostlist, path, query = _split(url)
    if scheme not in PLAIN_SCHEMES:
        return url
    if len(hostlist) <= 1:
        return ASYNC_SCHEME + url[len(scheme) :]
    query = _with_target([(k, v) for k, v in query if k != "host"], True)
    query = [*(("host", h) for h in hostlist), *query]
    return urlunsplit((ASYNC_SCHEME, userinfo, path, urlencode(query, safe=":"), ""))
