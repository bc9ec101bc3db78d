"""The one settings class. Read once at start-up and passed down; nothing reads the environment elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from switchboard.kit.setting_types import BlankIsUnset
from switchboard.limits.settings import LimitSettings
from switchboard.observability.settings import TelemetrySettings
from switchboard.tools.settings import ToolSettings
from switchboard.usage.settings import UsageSettings

HTTP_POOL = 10  # connections the HTTP API keeps, and as many again for bursts
HTTP_OVERFLOW = 10


class Settings(LimitSettings, UsageSettings, TelemetrySettings, ToolSettings, BaseSettings):
    """Every setting has an environment variable `SWITCHBOARD_<NAME>`; `.env` is read when present. The limits',
    usage's, telemetry's and tools' settings are declared beside their code and gathered here."""

    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://… of an external PostgreSQL. Unset: an embedded PostgreSQL under data_dir.",
    )
    data_dir: Path = Field(default=Path(".switchboard"), description="Where the embedded PostgreSQL keeps its data.")
    host: str = "127.0.0.1"
    port: int = 8000

    model: str = Field(
        default="offline",
        description="Default model for agents without their own: 'offline' or any Pydantic AI model string.",
    )
    llm_base_url: str | None = Field(
        default=None, description="Base URL of an OpenAI-compatible server for 'openai-chat:' models."
    )
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=60.0, gt=0)
    llm_max_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of a failed model request by the provider's SDK (429, 5xx)."
    )
    llm_require_finish_reason: bool = Field(
        default=True,
        description="Treat a streamed OpenAI-compatible response without a finish reason as cut short (retried). "
        "Turn off only for a server that never sends one.",
    )
    model_retries: int = Field(
        default=4,
        ge=0,
        le=20,
        description="Retries of a model request by the run itself, from its last written step, when it failed in a "
        "way the SDK cannot retry or after the SDK's retries: a dropped or cut-short stream, 429, 5xx.",
    )
    model_retry_backoff_seconds: float = Field(
        default=1.0, gt=0, description="First wait before such a retry; doubled each time (with jitter), at most 30 s."
    )

    max_prompt_chars: int = Field(default=2000, gt=0)
    thread_context_max_bytes: int = Field(
        default=16 * 1024,
        gt=0,
        le=1024 * 1024,
        description="Largest application context a thread may carry (its JSON, in bytes): it is sent to the model on "
        "every turn. Larger ones get 413 and change nothing.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, gt=0, description="Largest request body accepted (413 beyond it), read before parsing."
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long a request body may take to arrive (408 after it)."
    )
    migrate_on_start: bool = Field(default=True, description="Apply pending migrations when the server starts.")

    plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated 'module:attribute' paths of plugins to load, besides installed entry points.",
    )
    load_entry_points: bool = Field(default=True, description="Load plugins installed under 'switchboard.plugins'.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins (https://app.example.com, or *) whose browser pages may call the API. "
        "Empty: no CORS headers, browsers allow same-origin calls only.",
    )

    workers: int = Field(
        default=1, ge=0, description="Worker loops `switchboard serve` runs in its own process; 0 = API only."
    )
    worker_concurrency: int = Field(default=8, ge=1, description="Runs one worker loop executes at once.")
    worker_lease_seconds: float = Field(
        default=30.0, gt=0, description="A claimed run's lease; renewed every third of it while the run is alive."
    )
    worker_poll_seconds: float = Field(
        default=5.0, gt=0, description="Fallback poll of the queue; workers normally wake on NOTIFY at once."
    )
    worker_grace_seconds: float = Field(
        default=20.0, ge=0, description="On SIGTERM, how long in-flight runs may finish before going back to the queue."
    )
    run_max_attempts: int = Field(
        default=3, ge=1, description="Claims a run may have (lapsed leases count) before it fails for good."
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long an authenticated API key is remembered, so repeated requests skip its lookup: a key "
        "revoked in another process stops working within this time (at once in the process that revoked it). "
        "0: look every key up on every request.",
    )
    run_wait_seconds: float = Field(
        default=300.0, gt=0, description="How long POST /v1/runs/wait and /v1/chat wait before answering anyway."
    )

    secret_key: Annotated[SecretStr | None, BlankIsUnset] = Field(
        default=None,
        description="Encrypts the webhook and trigger signing secrets at rest, and seals the console's session "
        "cookies (any long random string, e.g. `openssl rand -base64 32`); every process must have the same. Unset: "
        "one is generated into data_dir/secret_key (mode 0600) and reused.",
    )
    public_url: Annotated[str | None, BlankIsUnset] = Field(
        default=None,
        description="This server's address as receivers of notifications reach it, for links in them. Default: "
        "http://host:port.",
    )
    allow_private_urls: bool = Field(
        default=False,
        description="Let webhook, Slack and per-run notification URLs point at loopback, private, link-local or "
        "other non-public addresses (the SSRF guard off). For development and tests only.",
    )
    private_url_allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated hosts (`name` or `name:port`) notifications may reach even though they "
        "resolve to non-public addresses (an internal receiver), with the guard on for everything else.",
    )
    webhook_retry_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0],
        description="Waits before each retry of a failed delivery, comma-separated seconds (Standard Webhooks' "
        "schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h); after the last, the delivery is dead.",
    )
    webhook_retry_jitter: float = Field(
        default=0.1, ge=0, le=1, description="Each wait is lengthened by up to this fraction, at random."
    )
    webhook_timeout_seconds: float = Field(
        default=15.0, gt=0, description="How long one delivery attempt may take: a receiver's answer, or SMTP."
    )
    webhook_disable_after_seconds: float = Field(
        default=5 * 86400,
        gt=0,
        description="An endpoint that fails every delivery for this long (5 days) is disabled; its GET says why.",
    )
    dispatcher_concurrency: int = Field(
        default=32, ge=1, description="Deliveries one process sends at once (each worker process runs a dispatcher)."
    )
    smtp_host: Annotated[str | None, BlankIsUnset] = Field(
        default=None, description="SMTP server for email notifications; unset: no email."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: Annotated[str | None, BlankIsUnset] = None
    smtp_password: Annotated[SecretStr | None, BlankIsUnset] = None
    smtp_from: str = Field(default="switchboard@localhost", description="The From address of notification emails.")
    smtp_allowed_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated domains notification email may go to (example.com); empty: any. Set it so the "
        "server's SMTP login is no relay for any address a user names.",
    )
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="'starttls' (required: a server that does not offer it is an error, port 587), 'tls' "
        "(implicit, port 465), 'none' (plain: a local relay only).",
    )
    schedule_grace_seconds: float = Field(
        default=600.0,
        ge=0,
        description="A tick missed while no worker ran fires once, late, within this; older ones are skipped and "
        "counted as missed.",
    )
    trigger_max_payload_bytes: int = Field(
        default=256 * 1024, gt=0, description="Largest event a trigger accepts (413 beyond it)."
    )
    knowledge_max_document_bytes: int = Field(
        default=512 * 1024, gt=0, description="Largest knowledge document (its text as UTF-8) accepted (413 beyond it)."
    )
    embedding_model: Annotated[str | None, BlankIsUnset] = Field(
        default=None,
        description="Embeds knowledge chunks for hybrid search where pgvector is installed: 'hashing' (built in, "
        "offline, lexical not semantic) or any Pydantic AI embedding model string. Unset: full-text search only.",
    )

    db_pool_size: int | None = Field(
        default=None,
        ge=1,
        description="Connections a process keeps. Default: what it runs (see `db_pool`): 10 for the HTTP API plus "
        "`worker_concurrency` + 2 per worker loop.",
    )
    db_max_overflow: int | None = Field(
        default=None, ge=0, description="Connections beyond the pool for bursts. Default: 10 for the HTTP API, else 0."
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="'auto': lines for humans when stderr is a terminal, JSON lines otherwise."
    )
    request_log_enabled: bool = True

    def db_pool(self, *, http: bool) -> tuple[int, int]:
        """The connection pool's size and overflow, as set or from what the process runs: a worker loop needs at
        most a connection per run it executes (a tool's unit of work, or its events' write) and two of its own
        (claiming, renewing leases); the HTTP API one per request in flight, 10 with 10 more for bursts. Sized
        so, N processes stay within PostgreSQL's `max_connections` by the README's arithmetic ("Scaling out")."""
        size = self.workers * (self.worker_concurrency + 2) + (HTTP_POOL if http else 0)
        overflow = HTTP_OVERFLOW if http else 0
        return (
            self.db_pool_size if self.db_pool_size is not None else max(size, 2),
            self.db_max_overflow if self.db_max_overflow is not None else overflow,
        )

    def public_base_url(self) -> str:
        """Where receivers of notifications and senders of events reach this server (links, ingest URLs)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def secrets(self) -> list[str]:
        """Values that must never reach a log line or a response."""
        values = [self.llm_api_key, self.secret_key, self.smtp_password, self.metrics_token]
        found = [value.get_secret_value() for value in values if value is not None]
        password = urlsplit(self.redis_url).password if self.redis_url else None
        return [*found, password] if password else found

    @field_validator(
        "plugins",
        "cors_origins",
        "private_url_allowlist",
        "webhook_retry_seconds",
        "smtp_allowed_domains",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("webhook_retry_seconds")
    @classmethod
    def _positive_waits(cls, value: list[float]) -> list[float]:
        if any(wait < 0 for wait in value):
            raise ValueError("waits must be seconds, 0 or more")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origin_without_slash(cls, value: list[str]) -> list[str]:
        # A browser's Origin never ends with "/": "https://app.example.com/" would silently match nothing.
        return [origin.rstrip("/") for origin in value]

    @field_validator("database_url")
    @classmethod
    def _require_asyncpg(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value.startswith(("postgresql://", "postgres://")):
            # Accept the plain libpq form people copy from their provider and use the async driver.
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("SWITCHBOARD_DATABASE_URL must start with postgresql+asyncpg:// (or postgresql://)")
        return value
