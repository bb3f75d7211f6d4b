"""Settings for both services, read from the environment (and an optional .env file).

Every setting is documented in the README. Outside development the service refuses to
start while any secret still has its development default.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me-before-deploying"


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
    jwt_keys: SecretStr = Field(SecretStr(""), alias="MEDIATION_JWT_KEYS")
    access_token_minutes: int = Field(15, alias="MEDIATION_ACCESS_TOKEN_MINUTES", ge=1)
    refresh_token_days: int = Field(14, alias="MEDIATION_REFRESH_TOKEN_DAYS", ge=1)
    max_body_bytes: int = Field(1_048_576, alias="MEDIATION_MAX_BODY_BYTES", ge=1024)
    rate_limit_per_minute: int = Field(600, alias="MEDIATION_RATE_LIMIT_PER_MINUTE", ge=1)
    db_pool_size: int = Field(10, alias="MEDIATION_DB_POOL_SIZE", ge=1)

    arq_queue: str = Field("mediation:queue", alias="MEDIATION_ARQ_QUEUE")
    worker_heartbeat_seconds: int = Field(10, alias="MEDIATION_WORKER_HEARTBEAT_SECONDS", ge=1)
    worker_heartbeat_max_age_seconds: int = Field(
        60, alias="MEDIATION_WORKER_HEARTBEAT_MAX_AGE_SECONDS", ge=1
    )
    outbox_poll_seconds: float = Field(1.0, alias="MEDIATION_OUTBOX_POLL_SECONDS", gt=0)

    timezone: str = Field("Asia/Shanghai", alias="MEDIATION_TIMEZONE")
    log_level: str = Field("INFO", alias="MEDIATION_LOG_LEVEL")
    demo_password: SecretStr = Field(SecretStr("demo-password"), alias="MEDIATION_DEMO_PASSWORD")

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
        """A plain libpq URL (for asyncpg.connect and psql)."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql://" + url[len(prefix) :]
        return url


def to_async_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
