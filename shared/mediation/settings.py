"""Settings for both services, read from the environment (and an optional .env file).

Every setting is documented in the README. Outside development the service refuses to
start while any secret still has its development default.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mediation import dburls
from mediation.gmcrypto import CryptoProfile

DEV_SECRET = "dev-only-secret-change-me-before-deploying"
# Base32, 32 characters: the demo accounts' authenticator secret (development only).
DEMO_TOTP_SECRET = "MEDIATIONDEMOTOTPDEVELOPMENTONLY"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    env: Environment = Field(Environment.development, alias="MEDIATION_ENV")
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:54329/mediation", alias="DATABASE_URL"
    )
    redis_url: str = Field("redis://127.0.0.1:63799/0", alias="REDIS_URL")
    data_dir: Path = Field(Path(".data"), alias="MEDIATION_DATA_DIR")

    secret_key: SecretStr = Field(SecretStr(DEV_SECRET), alias="MEDIATION_SECRET_KEY")
    pii_hash_key: SecretStr = Field(SecretStr(DEV_SECRET), alias="MEDIATION_PII_HASH_KEY")
    encryption_keys: SecretStr = Field(
        SecretStr("k1:" + DEV_SECRET), alias="MEDIATION_ENCRYPTION_KEYS"
    )

    # "kid:secret,kid:secret": the first signs new tokens, all verify, so a key can be rotated
    # without signing everybody out. Empty: one key "k1" derived from the secret key.
    # `gm`: SM4-GCM field encryption, HMAC-SM3 keyed hashes, SM3 audit chain (密评); `default`:
    # AES-256-GCM, HMAC-SHA256, SHA-256. Stored values say which made them (gmcrypto.py).
    crypto_profile: CryptoProfile = Field(CryptoProfile.default, alias="MEDIATION_CRYPTO_PROFILE")
    jwt_keys: SecretStr = Field(SecretStr(""), alias="MEDIATION_JWT_KEYS")
    access_token_minutes: int = Field(15, alias="MEDIATION_ACCESS_TOKEN_MINUTES", ge=1)
    refresh_token_days: int = Field(14, alias="MEDIATION_REFRESH_TOKEN_DAYS", ge=1)
    max_body_bytes: int = Field(1_048_576, alias="MEDIATION_MAX_BODY_BYTES", ge=1024)
    max_import_bytes: int = Field(64 * 1_048_576, alias="MEDIATION_MAX_IMPORT_BYTES", ge=1024)
    # Rows of one history import file (issue 20); larger registers are split.
    import_max_rows: int = Field(200_000, alias="MEDIATION_IMPORT_MAX_ROWS", ge=1, le=1_000_000)
    rate_limit_per_minute: int = Field(600, alias="MEDIATION_RATE_LIMIT_PER_MINUTE", ge=1)
    # Browser applications on other origins that may call the API (exact origins, comma
    # separated, e.g. "http://localhost:5173,https://zz.example.gov.cn"); empty: none.
    cors_origins: str = Field("", alias="MEDIATION_CORS_ORIGINS")
    # CIDRs of our reverse proxies / load balancers: X-Forwarded-For is believed only from
    # them (the sign-in throttle and the audit trail use the address it gives).
    trusted_proxies: str = Field("127.0.0.1/32, ::1/128", alias="MEDIATION_TRUSTED_PROXIES")
    # Bearer token the Prometheus scraper sends to /metrics. Empty: /metrics answers anyone
    # (development only; production must set it, docs/security.md).
    metrics_token: SecretStr = Field(SecretStr(""), alias="MEDIATION_METRICS_TOKEN")

    # The base of problem `type` URIs (RFC 9457): where the center publishes their pages.
    # Clients branch on the problem's `code`, which does not depend on it.
    problem_base_uri: str = Field(
        "https://mediation.example.gov.cn/problems/",
        alias="MEDIATION_PROBLEM_BASE_URI",
        pattern=r"^https?://[^\s]+$",
        max_length=200,
    )
    db_pool_size: int = Field(10, alias="MEDIATION_DB_POOL_SIZE", ge=1)
    # Bounds the wait for a database connection (connecting, or a free one from the pool), so
    # a request during a failover answers 503 instead of hanging.
    db_connect_timeout_seconds: float = Field(
        5.0, alias="MEDIATION_DB_CONNECT_TIMEOUT_SECONDS", gt=0
    )
    # A transaction left idle this long (a stuck request or job, a leaked session) is ended
    # by the server, which frees its locks and its connection; 0: the server's own setting.
    # Sent when each connection opens; behind PgBouncer set it on the role instead
    # (docs/deployment.md). Far longer than the longest legitimate idle stretch (seconds: a
    # document rendered in its request's transaction, an import's batch of 2,000 rows built
    # between its statements; an import's row check holds no transaction).
    db_idle_in_transaction_seconds: float = Field(
        300.0, alias="MEDIATION_DB_IDLE_IN_TRANSACTION_SECONDS", ge=0
    )
    api_workers: int = Field(1, alias="MEDIATION_API_WORKERS", ge=1)
    # PgBouncer in transaction mode in front of PostgreSQL (docs/deployment.md): `pgbouncer`,
    # `none`, or empty to detect it (a host on PgBouncer's port, 6432).
    database_pooler: str = Field("", alias="DATABASE_POOLER", pattern="^(|none|pgbouncer)$")
    # PostgreSQL itself, for what must bypass a transaction-mode pooler: the worker's LISTEN
    # connection and migrations. Empty: DATABASE_URL.
    database_direct_url: str = Field("", alias="DATABASE_DIRECT_URL")
    # Read replicas (docs/deployment.md): lists, search, statistics reads and exports read
    # from one of these (comma-separated URLs) when it is fit; empty: everything on the primary.
    database_replica_urls: str = Field("", alias="DATABASE_REPLICA_URLS")
    # A replica further behind the primary than this is skipped until it catches up.
    replica_max_lag_seconds: float = Field(5.0, alias="MEDIATION_REPLICA_MAX_LAG_SECONDS", gt=0)
    replica_check_seconds: float = Field(1.0, alias="MEDIATION_REPLICA_CHECK_SECONDS", gt=0)
    # Read-your-writes: how long a caller's next list waits for a replica to replay past the
    # caller's last write before reading the primary, and how long that write is remembered.
    replica_wait_ms: int = Field(200, alias="MEDIATION_REPLICA_WAIT_MS", ge=0, le=5000)
    replica_read_your_writes_seconds: int = Field(
        60, alias="MEDIATION_REPLICA_READ_YOUR_WRITES_SECONDS", ge=1
    )

    arq_queue: str = Field("mediation:queue", alias="MEDIATION_ARQ_QUEUE")
    worker_heartbeat_seconds: int = Field(10, alias="MEDIATION_WORKER_HEARTBEAT_SECONDS", ge=1)
    worker_heartbeat_max_age_seconds: int = Field(
        60, alias="MEDIATION_WORKER_HEARTBEAT_MAX_AGE_SECONDS", ge=1
    )
    outbox_poll_seconds: float = Field(1.0, alias="MEDIATION_OUTBOX_POLL_SECONDS", gt=0)
    # Days after a hotline call before the retention job removes its callback number and
    # de-identifies the caller. Hotline guidelines keep records 3 years: 1096 days (3 years
    # including a leap day) is the floor; a lower value refuses to start.
    # The audit trail is kept at least 180 days in the table (网络安全法 Art. 21); older entries
    # may be archived to a file (`mediation audit archive`). Less than 180 is refused.
    audit_retention_days: int = Field(180, alias="MEDIATION_AUDIT_RETENTION_DAYS", ge=180)
    hotline_retention_days: int = Field(1096, alias="MEDIATION_HOTLINE_RETENTION_DAYS", ge=1096)
    stats_live_minutes: int = Field(5, alias="MEDIATION_STATS_LIVE_MINUTES", ge=1, le=60)  # refresh

    # --- plausible dates (mediation.contracts.windows): every date a person enters ---
    # The first day of the center's own records (activities, agreements, roles...).
    center_opened_on: date = Field(date(2018, 1, 1), alias="MEDIATION_CENTER_OPENED_ON")
    # The counseling workstation (and so its hotline) opened in April 2020.
    hotline_opened_on: date = Field(date(2020, 4, 1), alias="MEDIATION_HOTLINE_OPENED_ON")
    # How long ago a dispute may have happened when it is registered.
    dispute_max_years_back: int = Field(30, alias="MEDIATION_DISPUTE_MAX_YEARS_BACK", ge=1, le=100)
    # How far ahead a session is planned, and how long after it was held (on the spot) a
    # session and its agreement may still be recorded.
    session_max_days_ahead: int = Field(
        365, alias="MEDIATION_SESSION_MAX_DAYS_AHEAD", ge=1, le=3660
    )
    session_max_days_back: int = Field(90, alias="MEDIATION_SESSION_MAX_DAYS_BACK", ge=1, le=3660)
    # How far ahead other plans reach: duty rosters, follow-ups due, extended deadlines.
    planning_max_days_ahead: int = Field(
        366, alias="MEDIATION_PLANNING_MAX_DAYS_AHEAD", ge=1, le=3660
    )

    # --- case files (attachments, documents) ---
    # Where attachments are kept: "local" (files under MEDIATION_DATA_DIR/files, one machine)
    # or "s3" (an S3-compatible store shared by several API machines; the settings below).
    storage_backend: str = Field("local", alias="MEDIATION_STORAGE_BACKEND", pattern="^(local|s3)$")
    s3_endpoint_url: str = Field("", alias="MEDIATION_S3_ENDPOINT_URL")  # e.g. http://s3.intra:8333
    s3_bucket: str = Field("mediation-casefiles", alias="MEDIATION_S3_BUCKET")  # created by ops
    s3_access_key: str = Field("", alias="MEDIATION_S3_ACCESS_KEY")
    s3_secret_key: SecretStr = Field(SecretStr(""), alias="MEDIATION_S3_SECRET_KEY")
    s3_region: str = Field("us-east-1", alias="MEDIATION_S3_REGION")  # most servers ignore it
    # Largest attachment accepted (bytes); a larger upload is refused with 413.
    max_upload_bytes: int = Field(25 * 1_048_576, alias="MEDIATION_MAX_UPLOAD_BYTES", ge=1024)
    # How long a signed download link works (seconds).
    download_link_seconds: int = Field(300, alias="MEDIATION_DOWNLOAD_LINK_SECONDS", ge=10, le=3600)
    # A folder of document templates that replace the shipped ones file by file (empty: shipped).
    document_templates_dir: Path | None = Field(None, alias="MEDIATION_DOCUMENT_TEMPLATES_DIR")

    # --- notifications (worker) ---
    # SMTP relay for the email channel; empty host: email deliveries are recorded as skipped.
    smtp_host: str = Field("", alias="MEDIATION_SMTP_HOST")
    smtp_port: int = Field(25, alias="MEDIATION_SMTP_PORT", ge=1, le=65535)
    # Sender address of notification emails.
    smtp_from: str = Field("noreply@mediation.example.gov.cn", alias="MEDIATION_SMTP_FROM")
    smtp_username: str = Field("", alias="MEDIATION_SMTP_USERNAME")  # empty: no AUTH
    smtp_password: SecretStr = Field(SecretStr(""), alias="MEDIATION_SMTP_PASSWORD")
    # "none", "starttls" (submission, port 587) or "tls" (implicit TLS, port 465).
    smtp_security: str = Field(
        "none", alias="MEDIATION_SMTP_SECURITY", pattern="^(none|starttls|tls)$"
    )
    # SMS gateway: POST JSON {"phone", "message", "urgent", "id"} to this URL; 2xx is sent.
    # Empty: SMS deliveries are recorded as skipped.
    sms_gateway_url: str = Field("", alias="MEDIATION_SMS_GATEWAY_URL")
    # Sent as `Authorization: Bearer <token>` to the gateway when set.
    sms_gateway_token: SecretStr = Field(SecretStr(""), alias="MEDIATION_SMS_GATEWAY_TOKEN")
    # Signature (短信签名) put in front of every text, e.g. 【铁西区综治中心】.
    sms_signature: str = Field("【综治中心】", alias="MEDIATION_SMS_SIGNATURE")
    # No SMS in this window (center time) except for urgent events; held until it ends.
    sms_quiet_hours: str = Field(
        "22:00-07:00", alias="MEDIATION_SMS_QUIET_HOURS", pattern=r"^(\d{2}:\d{2}-\d{2}:\d{2})?$"
    )
    # WeCom (企业微信) group robot webhook, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...
    # Empty: WeCom deliveries are recorded as skipped.
    wecom_webhook_url: str = Field("", alias="MEDIATION_WECOM_WEBHOOK_URL")
    # Seconds to wait for an SMTP server, SMS gateway, WeCom or webhook receiver.
    notify_timeout_seconds: float = Field(10.0, alias="MEDIATION_NOTIFY_TIMEOUT_SECONDS", gt=0)
    # Webhook receivers on this machine (127.0.0.1, localhost): off outside tests and demos.
    webhook_allow_loopback: bool = Field(False, alias="MEDIATION_WEBHOOK_ALLOW_LOOPBACK")
    # After a secret rotation the old secret keeps signing this long (receivers switch over).
    webhook_secret_overlap_hours: int = Field(
        24, ge=0, le=168, alias="MEDIATION_WEBHOOK_SECRET_OVERLAP_HOURS"
    )
    # Sends one worker process runs at once (each holds a database connection while sending).
    delivery_concurrency: int = Field(8, alias="MEDIATION_DELIVERY_CONCURRENCY", ge=1, le=200)
    # How often each worker looks for due retries (and deliveries a crash left behind).
    delivery_poll_seconds: float = Field(1.0, alias="MEDIATION_DELIVERY_POLL_SECONDS", gt=0)
    # An event relayed this long ago and still unprocessed is relayed again (its job was lost).
    outbox_stale_seconds: int = Field(60, alias="MEDIATION_OUTBOX_STALE_SECONDS", ge=5)
    # Retention: processed outbox events and finished deliveries (days), read inbox items.
    outbox_retention_days: int = Field(30, alias="MEDIATION_OUTBOX_RETENTION_DAYS", ge=1)
    delivery_retention_days: int = Field(90, alias="MEDIATION_DELIVERY_RETENTION_DAYS", ge=1)
    notification_retention_days: int = Field(
        365, alias="MEDIATION_NOTIFICATION_RETENTION_DAYS", ge=1
    )

    # --- sign-in security (issue 18, items 2-4; docs/security.md) ---
    # Password policy: length, character classes (lower, upper, digit, other) of which a
    # password needs this many, how many previous passwords may not come back, and the days
    # after which a password must be changed (0: never).
    password_min_length: int = Field(8, alias="MEDIATION_PASSWORD_MIN_LENGTH", ge=8, le=128)
    password_min_classes: int = Field(3, alias="MEDIATION_PASSWORD_MIN_CLASSES", ge=1, le=4)
    password_history: int = Field(5, alias="MEDIATION_PASSWORD_HISTORY", ge=0, le=24)
    password_max_age_days: int = Field(90, alias="MEDIATION_PASSWORD_MAX_AGE_DAYS", ge=0, le=3660)
    # Roles that need a second factor besides the three administrators (who always do),
    # comma separated, e.g. "counselor,hotline_supervisor".
    mfa_required_roles: str = Field("", alias="MEDIATION_MFA_REQUIRED_ROLES")
    # The TOTP secret of the demo accounts that have a second factor (`seed-demo` only, printed
    # by `make run DEMO=1`): a fixed base32 value for development, never for real accounts.
    demo_totp_secret: SecretStr = Field(
        SecretStr(DEMO_TOTP_SECRET), alias="MEDIATION_DEMO_TOTP_SECRET"
    )
    # Sessions (one per sign-in, kept alive by refreshing): refused after this many minutes
    # without a refresh, and after this many hours whatever happens.
    session_idle_minutes: int = Field(30, alias="MEDIATION_SESSION_IDLE_MINUTES", ge=1, le=1440)
    session_max_hours: int = Field(12, alias="MEDIATION_SESSION_MAX_HOURS", ge=1, le=720)

    timezone: str = Field("Asia/Shanghai", alias="MEDIATION_TIMEZONE")
    log_level: str = Field("INFO", alias="MEDIATION_LOG_LEVEL")
    demo_password: SecretStr = Field(SecretStr("demo-password"), alias="MEDIATION_DEMO_PASSWORD")

    # OpenTelemetry tracing, by the standard variables (mediation.tracing): off unless an OTLP
    # endpoint or OTEL_TRACES_EXPORTER=otlp is given. The SDK reads the other OTEL_* variables
    # (headers, timeouts, sampler, resource attributes) itself.
    otel_exporter_otlp_endpoint: str = Field("", alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    otel_exporter_otlp_traces_endpoint: str = Field("", alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    otel_traces_exporter: str = Field("", alias="OTEL_TRACES_EXPORTER")
    otel_sdk_disabled: bool = Field(False, alias="OTEL_SDK_DISABLED")
    otel_service_name: str = Field("", alias="OTEL_SERVICE_NAME")

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env is Environment.production:
            for name in ("secret_key", "pii_hash_key", "encryption_keys"):
                value: SecretStr = getattr(self, name)
                if DEV_SECRET in value.get_secret_value():
                    raise ValueError(
                        f"{name} still has its development default; set it before running "
                        "outside development"
                    )
        return self

    @model_validator(mode="after")
    def _known_mfa_roles(self) -> Settings:
        self.mfa_required_role_set()
        return self

    def mfa_required_role_set(self) -> frozenset[str]:
        """The roles of MEDIATION_MFA_REQUIRED_ROLES (the administrators are added where used)."""
        from mediation.org.enums import Role

        names = {r.strip() for r in self.mfa_required_roles.split(",") if r.strip()}
        unknown = sorted(names - {r.value for r in Role})
        if unknown:
            raise ValueError(f"MEDIATION_MFA_REQUIRED_ROLES names unknown roles: {unknown}")
        return frozenset(names)

    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    def jwt_keyring(self) -> list[tuple[str, str]]:
        raw = self.jwt_keys.get_secret_value().strip()
        if not raw:
            return [("k1", self.secret_key.get_secret_value())]
        ring = []
        for part in raw.split(","):
            kid, _, secret = part.strip().partition(":")
            if not kid or len(secret) < 16:
                raise ValueError("MEDIATION_JWT_KEYS entries are kid:secret with 16+ characters")
            ring.append((kid, secret))
        return ring

    @property
    def async_database_url(self) -> str:
        return to_async_url(self.database_url)

    @property
    def sync_database_url(self) -> str:
        """A plain libpq URL (for asyncpg.connect and psql); several hosts stay a list."""
        return dburls.plain_url(self.database_url)

    @property
    def direct_database_url(self) -> str:
        """PostgreSQL without a pooler in between (libpq form): LISTEN and migrations."""
        return dburls.plain_url(self.database_direct_url or self.database_url)

    @property
    def behind_pgbouncer(self) -> bool:
        """Connections go through PgBouncer in transaction mode: no prepared statement may
        outlive its transaction (db.py, readdb.py)."""
        if self.database_pooler:
            return self.database_pooler == "pgbouncer"
        return any(h.rpartition(":")[2] == "6432" for h in dburls.hosts(self.database_url))


def to_async_url(url: str) -> str:
    """SQLAlchemy's form; several hosts (`h1:5432,h2:5432`) find the writable primary."""
    return dburls.async_url(url)


@lru_cache
def get_settings() -> Settings:
    return Settings()
