"""Fuzzing every operation of the contract with schemathesis, in-process and signed in: no
response is a 5xx, every response conforms to what its operation declares (status code,
content type, body schema, headers), and data that breaks the contract is refused (4xx:
"invalid data accepted" is a failure).

Every operation is called as a demo account holding the permission it needs (the dispatcher
and the administrator for most; the hotline roles for the hotline), and again as a grid head
(a user with a small subtree: scope-limited answers, and 403s where the role has no
permission). Then the stateful phase chains operations along the links schemathesis infers
from the contract (create a case, act on it, read it...), once for the natural callers and
once as the grid head. Path parameters, and id fields in bodies and queries, are mostly
replaced by ids of records that exist (read from the lists before the run and from what the
run creates), so the fuzz reaches past the 404s; changes carry the record's current ETag.

CI runs a small fixed number of examples per operation with a fixed seed, so a run is
deterministic. On demand (`make fuzz`), many more with a random seed:

    CONTRACT_FUZZ_EXAMPLES=200 CONTRACT_FUZZ_SEED=random pytest tests/contract/test_fuzz.py

The fuzz has its own database (migrated at the start, dropped at the end) and its own Redis
namespace, so it neither sees nor leaves data for the other tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import os
import re
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mediation.auth.policy import ROLE_PERMISSIONS
from mediation.clock import CENTER_TZ
from mediation.org.enums import Role
from mediation.settings import Settings, to_async_url
from mediation_dev.clock import MovableClock
from tests.contract import served
from tests.support.world import demo_otp

EXAMPLES = int(os.environ.get("CONTRACT_FUZZ_EXAMPLES", "6"))
# Stateful scenarios (chains of linked operations) per user; steps per scenario.
SCENARIOS = int(os.environ.get("CONTRACT_FUZZ_SCENARIOS", str(max(4, EXAMPLES // 2))))
STEPS = int(os.environ.get("CONTRACT_FUZZ_STEPS", "12"))
_SEED = os.environ.get("CONTRACT_FUZZ_SEED", "20261126")
SEED = None if _SEED == "random" else int(_SEED)
PASSWORD = "demo-password"
START = datetime(2026, 11, 26, 10, 0, tzinfo=CENTER_TZ)
# Who calls an operation: the first of these holding every permission it needs (the
# dispatcher works cases; the administrator the configuration; the hotline roles the hotline).
CALLERS = [Role.dispatcher, Role.system_admin, Role.hotline_supervisor, Role.counselor, *Role]
# The second user every operation is called as: a small subtree, few permissions.
GRID_HEAD = Role.grid_head
# Answers a probe may give by design (no worker runs during the fuzz).
DESIGNED_5XX = {("GET", "/readyz", 503)}
CHECKS = [
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
# Refusals of data that breaks the contract: schemathesis's list, plus 412 (a change with a
# stale or made-up ETag is refused before its body is looked at).
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428", "429"]

CONFIG = schemathesis.Config.from_dict(
    {
        **({"seed": SEED} if SEED is not None else {}),
        "suppress-health-check": ["all"],
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
        "generation": {
            "max-examples": EXAMPLES,
            "deterministic": SEED is not None,
            "database": "none",
            "no-shrink": SEED is not None,
        },
        "phases": {
            "examples": {"enabled": True},
            "fuzzing": {"enabled": True},
            "coverage": {"enabled": False},
            "stateful": {"enabled": True, "max-steps": STEPS},
        },
    }
)
DOC = served()
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")


@schemathesis.serializer("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def _xlsx(ctx: Any, value: Any) -> bytes:
    """An import's upload is the workbook's bytes (arbitrary bytes: the import refuses them)."""
    return value if isinstance(value, bytes) else str(value).encode()


SCHEMA = schemathesis.openapi.from_dict(DOC, config=CONFIG)


@dataclass
class Fuzz:
    app: Any
    client: Any
    tokens: dict[Role, str]
    pools: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # collection path → the path parameter naming one of its items
    items: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    seed_errors: dict[str, str] = field(default_factory=dict)
    # Calls of the stateful phase per user, by status class ("2xx"...).
    chains: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    samples: dict[str, str] = field(default_factory=dict)

    def caller(self, op: dict[str, Any], user: Role | None = None) -> Role | None:
        """Who calls `op`: `user` if given, else a role holding what it needs."""
        security = op.get("security")
        if not security:
            return None
        if user is not None:
            return user
        needed = {scope for req in security for scope in req.get("oauth2", [])}
        return _caller(frozenset(needed))

    def headers(self, op: dict[str, Any], user: Role | None = None) -> dict[str, str]:
        role = self.caller(op, user)
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def etag(self, case: schemathesis.Case, headers: dict[str, str]) -> str:
        """The current ETag of the record a change addresses: the nearest enclosing path
        that can be read and answers one (`/cases/{id}` for `/cases/{id}/accept`)."""
        template, filled = case.path.split("/"), case.formatted_path.split("/")
        for end in range(len(template), 2, -1):
            path = "/".join(template[:end])
            if "get" not in DOC["paths"].get(path, {}):
                continue
            r = self.client.get("/".join(filled[:end]), headers=headers)
            if r.status_code == 200 and r.headers.get("etag"):
                return str(r.headers["etag"])
        return "*"

    # ---------------------------------------------------------------- real ids

    def pick(self, name: str, generated: Any) -> Any:
        """Mostly an existing record's id for `name`; now and then the generated value."""
        pool = self.pools.get(name)
        if not pool:
            return generated
        h = zlib.crc32(json.dumps(generated, default=str, sort_keys=True).encode())
        if h % 5 == 0:
            return generated
        return pool[h % len(pool)]

    def swap(self, value: Any, nth: int | None = None) -> Any:
        """`value` with its id fields replaced (by the nth id of each pool, if given)."""
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if isinstance(v, str) and self.pools.get(k):
                    pool = self.pools[k]
                    out[k] = self.pick(k, v) if nth is None else pool[nth % len(pool)]
                else:
                    out[k] = self.swap(v, nth)
            return out
        if isinstance(value, list):
            return [self.swap(v, nth) for v in value]
        return value

    def prepare(self, case: schemathesis.Case, user: Role | None, swap: bool = True) -> None:
        """Real ids (`swap`: not in a stateful chain, whose links supply them) and, mostly,
        the current ETag, so a change gets past the precondition to its validation. A case
        of invalid data is sent as generated: it must be refused as it is."""
        meta = case.meta
        if meta is not None and meta.generation.mode.is_negative:
            return
        if swap and case.path_parameters:
            for name, value in list(case.path_parameters.items()):
                case.path_parameters[name] = self.pick(name, value)
        if swap and isinstance(case.query, dict):
            for name, value in list(case.query.items()):
                if name in self.pools and isinstance(value, str):
                    case.query[name] = self.pick(name, value)
        if swap and isinstance(case.body, dict | list):
            case.body = self.swap(case.body)
        declared = {
            p.get("name", "").lower() for p in case.operation.definition.raw.get("parameters", [])
        }
        if "if-match" in declared:
            h = zlib.crc32(repr((case.path_parameters, case.body)).encode())
            if h % 5:
                etag = self.etag(case, self.headers(case.operation.definition.raw, user))
                case.headers = {**(case.headers or {}), "If-Match": etag}

    def call(self, case: schemathesis.Case, user: Role | None) -> Any:
        op = case.operation.definition.raw
        return case.call(
            app=self.app,
            session=self.client,
            headers=self.headers(op, user),
            base_url="http://testserver",
        )

    def validate(self, case: schemathesis.Case, response: Any, user: Role | None) -> None:
        label = f"{case.method.upper()} {case.path}" + (f" as {user.value}" if user else "")
        self.statuses[label][response.status_code] += 1
        if response.status_code not in (403, 404, 422):
            excerpt = response.content[:160].decode("utf-8", errors="replace")
            self.samples[label] = f"{response.status_code} {excerpt}"
        designed = (case.method.upper(), case.path, response.status_code) in DESIGNED_5XX
        if not designed:
            case.validate_response(response, checks=[not_a_server_error])
        checks = CHECKS
        raw_file = (case.media_type or "").startswith(("text/csv", "application/vnd."))
        if (case.media_type or "").startswith("multipart/") or raw_file:
            # Multipart carries every field as text: a type negated in the schema ("not a
            # boolean") is sent as text any form parser reads back as valid. A raw file (an
            # import's CSV or XLSX) is bytes whatever the generator meant; its rows are
            # checked by the validation job, which reports them, not by the upload.
            checks = [c for c in CHECKS if c is not negative_data_rejection]
        case.validate_response(response, checks=checks)
        ok = 200 <= response.status_code < 300
        if ok and "json" in response.headers.get("content-type", ""):
            self.learn(case.path, case.formatted_path, response.json())

    def current_etag(self, path: str, headers: dict[str, str]) -> str | None:
        """The ETag of the record an operation changes: its own address, or the nearest one
        above it that answers with one (`/cases/{id}/accept` changes `/cases/{id}`)."""
        parts = path.rstrip("/").split("/")
        while len(parts) > 3:
            r = self.client.get("/".join(parts), headers=headers)
            if r.status_code == 200 and r.headers.get("etag"):
                return str(r.headers["etag"])
            parts.pop()
        return None

    def learn(self, path: str, filled: str, body: Any) -> None:
        """Ids of records a response shows, for the operations that address them."""
        param = self.items.get(path)
        if param is None:
            return
        records = body.get("items") if isinstance(body, dict) and "items" in body else [body]
        for record in records if isinstance(records, list) else []:
            if not isinstance(record, dict):
                continue
            key = param if param in record and not param.endswith(("_id", "_uuid")) else "id"
            value = record.get(key)
            if isinstance(value, str | int) and str(value) not in self.pools[param]:
                self.pools[param].append(str(value))


@functools.cache
def _caller(needed: frozenset[str]) -> Role:
    for role in CALLERS:
        if needed <= {p.value for p in ROLE_PERMISSIONS[role]}:
            return role
    return Role.system_admin


def _callers() -> set[Role]:
    """Every account the run signs in as."""
    needed = {GRID_HEAD}
    for item in DOC["paths"].values():
        for op in item.values():
            for req in op.get("security") or []:
                needed.add(_caller(frozenset(req.get("oauth2", []))))
    return needed


def _collections(doc: dict[str, Any]) -> dict[str, str]:
    out = {}
    for path in doc["paths"]:
        m = re.match(r"^(.*)/\{(\w+)\}$", path)
        if m and m.group(1) in doc["paths"]:
            out[m.group(1)] = m.group(2)
    return out


def _fill(path: str, pools: dict[str, list[str]]) -> str | None:
    names = re.findall(r"{(\w+)}", path)
    if any(not pools.get(n) for n in names):
        return None
    return re.sub(r"{(\w+)}", lambda m: pools[m.group(1)][0], path)


def _harvest(env: Fuzz) -> None:
    """Ids of the records the lists show."""
    for _ in range(3):  # nested collections need the ids of the outer ones
        for collection in env.items:
            filled = _fill(collection, env.pools)
            op = DOC["paths"][collection].get("get")
            if filled is None or op is None:
                continue
            r = env.client.get(filled, params={"limit": 200}, headers=env.headers(op))
            if r.status_code == 200:
                env.learn(collection, filled, r.json())


def _example(op: dict[str, Any]) -> Any:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    if "example" in content:
        return content["example"]
    for example in (content.get("examples") or {}).values():
        return example.get("value")
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = DOC["components"]["schemas"].get(schema["$ref"].rsplit("/", 1)[-1], {})
    return (schema.get("examples") or [None])[0]


def _seed(env: Fuzz, user: Role | None = None) -> None:
    """A record per collection, from the example of its create operation (ids swapped for
    existing ones), so operations on one record have something to work on; as `user`, the
    records it may create, placed in its own subtree."""
    pools = env.pools
    if user is not None:  # its own units first: the others lie outside its subtree
        r = env.client.get(
            "/api/v1/units",
            params={"limit": 200},
            headers=env.headers(DOC["paths"]["/api/v1/units"]["get"], user),
        )
        own = [u["id"] for u in r.json()["items"]][::-1]  # the deepest (grid, building) first
        pools = defaultdict(list, {**env.pools, "unit_id": own})
    for _ in range(2):  # nested records need their parents first
        for collection in env.items:
            op = DOC["paths"][collection].get("post")
            filled = _fill(collection, pools)
            example = _example(op) if op else None
            if filled is None or example is None:
                continue
            needed = {p for req in op.get("security") or [] for p in req.get("oauth2", [])}
            if user is not None and not needed <= {p.value for p in ROLE_PERMISSIONS[user]}:
                continue
            for nth in range(5):  # the first units may lie outside the caller's subtree
                # A record added under another (a case's party) needs that record's ETag.
                etag = env.current_etag(filled, env.headers(op))
                r = env.client.post(
                    filled,
                    json=Fuzz(env.app, env.client, env.tokens, pools=pools).swap(example, nth),
                    headers={
                        **env.headers(op, user),
                        "Idempotency-Key": uuid.uuid4().hex,
                        **({"If-Match": etag} if etag else {}),
                    },
                )
                label = f"(seed) POST {collection}" + (f" as {user.value}" if user else "")
                env.statuses[label][r.status_code] += 1
                if r.status_code < 300:
                    env.learn(collection, filled, r.json())
                    break
                env.seed_errors[collection] = r.text[:300]


def _in_thread(coro: Coroutine[Any, Any, Any]) -> Any:
    """Runs a coroutine on its own loop (the test session's loop is not running here)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _load_demo(settings: Settings) -> None:
    from mediation.db import create_engine, session_factory
    from mediation_dev.demo import load

    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session, session.begin():
            await load(session, PASSWORD, START.date().replace(year=2020), settings=settings)
    finally:
        await engine.dispose()


async def _drop_redis(settings: Settings) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(settings.redis_url)
    try:
        keys = [k async for k in redis.scan_iter(f"{settings.arq_queue}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
def clean_state() -> Iterator[None]:
    """The fuzz has its own database and Redis namespace: nothing of the shared test
    database to clean after each operation."""
    yield


@pytest.fixture(scope="module")
def fuzz(settings: Settings, clone_database: Callable[[str], str]) -> Iterator[Fuzz]:
    from mediation.notifications import webhooks
    from mediation_api.main import create_app

    url = clone_database("fuzz")  # migrated, as the session's own database
    fuzz_settings = settings.model_copy(
        update={
            "database_url": to_async_url(url),
            "arq_queue": f"mediation-fuzz-{uuid.uuid4().hex[:8]}",
            "rate_limit_per_minute": 1_000_000,
        }
    )
    # Webhook URLs are checked by resolving their host: no DNS look-ups for made-up names.
    resolve = webhooks.resolve
    webhooks.resolve = lambda host, port: []  # type: ignore[assignment]
    try:
        _in_thread(_load_demo(fuzz_settings))
        app = create_app(fuzz_settings, MovableClock(START))
        with asgi.get_client(app) as client:
            tokens = {}
            for role in sorted(_callers()):
                r = client.post(
                    "/api/v1/auth/token",
                    data={
                        "grant_type": "password",
                        "username": role.value,
                        "password": PASSWORD,
                        "otp": demo_otp(START),  # the administrators' second factor
                    },
                )
                assert r.status_code == 200, r.text
                tokens[role] = r.json()["access_token"]
            env = Fuzz(app, client, tokens, items=_collections(DOC))
            _harvest(env)
            _seed(env)
            _seed(env, GRID_HEAD)
            _harvest(env)
            yield env
            if os.environ.get("CONTRACT_FUZZ_REPORT"):
                _report(env)
        asgi.shutdown_lifespans()
    finally:
        webhooks.resolve = resolve  # type: ignore[assignment]
        _in_thread(_drop_redis(fuzz_settings))  # the database goes with the session's


def _report(env: Fuzz) -> None:
    """Which answers each operation gave: where the fuzz got past validation and 404s."""
    lines = ["", "statuses per operation (CONTRACT_FUZZ_REPORT):"]
    for label, counts in sorted(env.statuses.items()):
        shown = " ".join(f"{s}×{n}" for s, n in sorted(counts.items()))
        ok = sum(n for s, n in counts.items() if s < 300)
        lines.append(f"  {'  ' if ok else '! '}{label}: {shown}")
        if not ok and label in env.samples:
            lines.append(f"      e.g. {env.samples[label]}")
    lines += [f"  seed {path}: {text}" for path, text in sorted(env.seed_errors.items())]
    for user, counts in sorted(env.chains.items()):
        shown = " ".join(f"{k}×{n}" for k, n in sorted(counts.items()))
        lines.append(f"  stateful calls as {user}: {shown}")
    print("\n".join(lines))


@SCHEMA.parametrize()
def test_operation(case: schemathesis.Case, fuzz: Fuzz) -> None:
    fuzz.prepare(case, None)
    fuzz.validate(case, fuzz.call(case, None), None)


@SCHEMA.include(lambda ctx: bool(ctx.operation.definition.raw.get("security"))).parametrize()
def test_operation_as_a_grid_head(case: schemathesis.Case, fuzz: Fuzz) -> None:
    fuzz.prepare(case, GRID_HEAD)
    fuzz.validate(case, fuzz.call(case, GRID_HEAD), GRID_HEAD)


@pytest.mark.parametrize("user", [None, GRID_HEAD], ids=["callers", "grid_head"])
def test_stateful(fuzz: Fuzz, user: Role | None) -> None:
    """Chains of linked operations (a case created, then acted on, read, listed...)."""

    class Workflow(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case) -> None:
            fuzz.prepare(case, user, swap=False)

        def call(self, case: schemathesis.Case, **kwargs: Any) -> Any:
            return fuzz.call(case, user)

        def validate_response(
            self, response: Any, case: schemathesis.Case, *args: Any, **kwargs: Any
        ) -> None:
            fuzz.chains[user.value if user else "callers"][f"{response.status_code // 100}xx"] += 1
            fuzz.validate(case, response, user)

    Workflow.run(
        settings=hypothesis_settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=SEED is not None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
