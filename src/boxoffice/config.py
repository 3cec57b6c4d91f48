"""Settings read from the environment (prefix ``BOXOFFICE_``).

Embedded defaults need nothing installed: a SQLite file and a secret key kept under ``var/``,
in-memory cache and rate-limit storage. Production mode requires an explicit secret key.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from limits import parse as parse_rate_limit
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class PaymentProviderName(StrEnum):
    TEST = "test"
    STRIPE = "stripe"


class JobsBroker(StrEnum):
    REDIS = "redis"
    EMBEDDED = "embedded"


class SmtpTls(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class ConfigurationError(Exception):
    """Raised with one line that names the offending ``BOXOFFICE_`` variable."""


def _rate_limit(value: str) -> str:
    try:
        parse_rate_limit(value)
    except ValueError as exc:
        raise ValueError(f"not a rate limit in `limits` notation (e.g. 10/minute): {exc}") from exc
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOXOFFICE_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    var_dir: Path = Path("var")
    database_url: str = ""
    read_database_url: str = ""
    database_pool_size: int = Field(default=10, ge=1, le=500)
    database_echo: bool = False
    database_pre_ping: bool = True
    database_pgbouncer: bool = False
    redis_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=256)
    log_level: str = "info"
    log_json: bool = True
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=300, le=365 * 86_400)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    public_cache_max_age: int = Field(default=30, ge=0)
    cache_enabled: bool = True
    listing_cache_ttl_seconds: int = Field(default=300, ge=1, le=86_400)
    event_cache_ttl_seconds: int = Field(default=300, ge=1, le=86_400)
    # Per account (e-mail): protects one account against password guessing.
    rate_limit_login: str = "10/minute"
    rate_limit_register: str = "5/minute"
    # Per client IP: looser, because offices, campuses and mobile carriers share addresses.
    rate_limit_login_ip: str = "100/minute"
    rate_limit_register_ip: str = "30/minute"
    rate_limit_refresh: str = "60/minute"
    # Password-reset e-mails: per address (so nobody floods one inbox) and per client IP.
    rate_limit_password_reset: str = "5/hour"  # noqa: S105 - a rate limit, not a password
    rate_limit_password_reset_ip: str = "30/hour"  # noqa: S105 - a rate limit, not a password
    rate_limit_enabled: bool = True
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Ticketing
    order_hold_seconds: int = Field(default=600, ge=10, le=86_400)
    waitlist_offer_seconds: int = Field(default=1800, ge=10, le=7 * 86_400)
    hold_sweep_interval_seconds: float = Field(default=15, ge=0)
    payment_provider: PaymentProviderName = PaymentProviderName.TEST
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    # Test-only negative control: takes seats and promo uses read-then-write instead of with
    # one conditional UPDATE, so the concurrency tests can prove they detect an oversell.
    unsafe_inventory_for_tests: bool = False
    # Background jobs (Dramatiq). The broker defaults to Redis when BOXOFFICE_REDIS_URL is set.
    jobs_broker: JobsBroker | None = None
    # Run a worker, the outbox relay and the scheduler inside `serve`; default: embedded broker.
    jobs_in_process: bool | None = None
    jobs_in_process_threads: int = Field(default=4, ge=1, le=64)
    jobs_heartbeat_timeout_seconds: float = Field(default=15, ge=1)
    jobs_lease_seconds: float = Field(default=600, ge=1)
    # Multiplies every job's retry backoff (tests and drills shorten it).
    jobs_backoff_scale: float = Field(default=1.0, gt=0, le=100)
    jobs_relay_interval_seconds: float = Field(default=1.0, gt=0)
    scheduler_tick_seconds: float = Field(default=1.0, gt=0)
    # Overrides of periodic jobs' periods: "job=seconds,..." (0 turns a job off).
    scheduler_periods: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)
    reminder_hours_before: float = Field(default=24, gt=0)
    public_url: str = "http://127.0.0.1:8000"
    # E-mail. Without BOXOFFICE_SMTP_HOST, messages are written as .eml files under var/mail/.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_tls: SmtpTls = SmtpTls.STARTTLS
    smtp_timeout_seconds: float = Field(default=30, gt=0)
    mail_from: str = "Boxoffice <tickets@boxoffice.localhost>"
    # How long a worker's claim on an e-mail it is sending lasts: a killed worker's e-mails
    # are sent again (same Message-ID) once it ran out. Longer than one SMTP send can take.
    mail_claim_seconds: float = Field(default=60, ge=1)
    password_reset_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 86_400)

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("scheduler_periods", mode="before")
    @classmethod
    def _parse_periods(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        periods: dict[str, float] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, _, seconds = item.partition("=")
            try:
                periods[name.strip()] = float(seconds)
            except ValueError:
                raise ValueError(f"expected job=seconds, got {item!r}") from None
            if periods[name.strip()] < 0:
                raise ValueError(f"{name.strip()}: a period cannot be negative")
        return periods

    @field_validator(
        "rate_limit_login",
        "rate_limit_register",
        "rate_limit_login_ip",
        "rate_limit_register_ip",
        "rate_limit_refresh",
        "rate_limit_password_reset",
        "rate_limit_password_reset_ip",
    )
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        return _rate_limit(value)

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        levels = {"debug", "info", "warning", "error", "critical"}
        if value.lower() not in levels:
            raise ValueError(f"must be one of {', '.join(sorted(levels))}")
        return value.lower()

    @field_validator("database_url", "read_database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / 'boxoffice.db'}"
        if self.jobs_broker is JobsBroker.REDIS and not self.redis_url:
            raise ValueError("BOXOFFICE_JOBS_BROKER=redis needs BOXOFFICE_REDIS_URL")
        if self.payment_provider is PaymentProviderName.STRIPE and not (
            self.stripe_secret_key and self.stripe_webhook_secret
        ):
            raise ValueError(
                "BOXOFFICE_STRIPE_SECRET_KEY and BOXOFFICE_STRIPE_WEBHOOK_SECRET are required "
                "when BOXOFFICE_PAYMENT_PROVIDER=stripe"
            )
        if self.env is Environment.PRODUCTION:
            if self.unsafe_inventory_for_tests:
                raise ValueError("BOXOFFICE_UNSAFE_INVENTORY_FOR_TESTS: never in production")
            if len(self.secret_key) < 32:
                raise ValueError(
                    "BOXOFFICE_SECRET_KEY: required in production, at least 32 characters"
                )
        elif not self.secret_key:
            self.secret_key = _embedded_secret_key(self.var_dir)
        elif len(self.secret_key) < 32:
            raise ValueError("BOXOFFICE_SECRET_KEY: must be at least 32 characters")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def broker(self) -> JobsBroker:
        if self.jobs_broker is not None:
            return self.jobs_broker
        return JobsBroker.REDIS if self.redis_url else JobsBroker.EMBEDDED

    @property
    def runs_jobs_in_process(self) -> bool:
        if self.jobs_in_process is not None:
            return self.jobs_in_process
        return self.broker is JobsBroker.EMBEDDED

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"


def _embedded_secret_key(var_dir: Path) -> str:
    """Generate the key once and keep it, so tokens survive restarts of an embedded install."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def load_settings(**overrides: Any) -> Settings:
    """Read settings; on bad input raise ConfigurationError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        location = error["loc"]
        message = str(error["msg"]).removeprefix("Value error, ")
        if location:
            variable = f"BOXOFFICE_{str(location[0]).upper()}"
            raise ConfigurationError(f"{variable}: {message}") from None
        raise ConfigurationError(message) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
