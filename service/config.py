"""Settings: the only module that reads the environment.

Every setting comes from a ``STANCE_*`` variable so one container image serves a laptop on
SQLite and a fleet on PostgreSQL without a config file.
"""

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./stance.db"


def normalise_database_url(url: str) -> str:
    """Map the URL spellings users paste (``postgres://``, ``postgresql://``) to psycopg 3.

    SQLAlchemy would otherwise pick psycopg2, which the project does not install.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Runtime configuration; see the README for what each setting changes."""

    model_config = SettingsConfigDict(env_prefix="STANCE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    min_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    projector_batch_size: int = Field(default=2000, ge=1, le=100_000)
    # How often the catch-up loop looks for events other processes appended.
    projector_poll_seconds: float = Field(default=1.0, gt=0)
    public_reads: bool = True
    allow_private_urls: bool = False
    log_level: str = "info"
    # Request bodies above this are refused with 413 while they stream in (1 MiB by default).
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    # Server-sent events: a comment this often keeps proxies from closing an idle stream, and a
    # slow poll picks up events that other processes appended (this process's own wake at once).
    sse_keepalive_seconds: float = Field(default=15.0, gt=0)
    sse_poll_seconds: float = Field(default=2.0, gt=0)
    # Cached reads (GET /v1/stances…): answers are kept as bytes per query and read-model
    # version, at most this many bytes and entries (0 turns the cache off). This process's writes
    # are seen by the next read; another process's within read_model_version_max_age_ms, the
    # longest this process serves a version without reading the checkpoints again.
    read_cache_max_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    read_cache_max_entries: int = Field(default=4096, ge=0)
    read_model_version_max_age_ms: int = Field(default=100, ge=0, le=60_000)
    # uvicorn's access log, a line per request (at log_level info); off by default: on a cached
    # read it nearly doubles the server's CPU per request (see service/api/server.py).
    access_log: bool = False
    # How long an API key lookup is reused; a revoked key stops working within this time.
    api_key_cache_seconds: float = Field(default=5.0, ge=0)
    # Feeds. Publishers block anonymous bots; operators should put a contact in the User-Agent.
    feed_user_agent: str = "StanceTracker/0.1 (feed poller)"
    feed_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    feed_timeout_seconds: float = Field(default=20.0, gt=0)
    feed_max_redirects: int = Field(default=5, ge=0, le=20)
    feed_concurrency: int = Field(default=20, ge=1, le=1000)
    feed_per_host: int = Field(default=2, ge=1, le=100)
    # Bounds of a feed's own interval; the floor also bounds how soon a publisher's TTL or a
    # backoff may bring a poll back, the cap how long a backoff may push it away.
    feed_min_interval_seconds: int = Field(default=300, ge=1)
    feed_max_interval_seconds: int = Field(default=86_400, ge=1)
    feed_default_interval_seconds: int = Field(default=900, ge=1)
    feed_pause_after_failures: int = Field(default=10, ge=1)
    # A claim lasts this long: long enough for a whole cycle, short enough that the feeds of a
    # killed worker are polled again soon by another.
    feed_lease_seconds: int = Field(default=900, ge=10)
    feed_claim_batch: int = Field(default=500, ge=1, le=10_000)
    scheduler_interval_seconds: float = Field(default=30.0, gt=0)
    # Webhook delivery. Each attempt has the timeout as its whole deadline; a worker sends up to
    # webhook_concurrency at once and leases what it claims for webhook_lease_seconds (more than
    # the timeout), after which a killed worker's deliveries are claimed again. The retry schedule
    # is the Standard Webhooks / Svix one, ±jitter; after a 429 or a timeout the next attempt waits
    # at least webhook_throttle_seconds. An endpoint failing that many days in a row is disabled.
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    webhook_concurrency: int = Field(default=32, ge=1, le=1000)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_retry_delays: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000)
    webhook_retry_jitter: float = Field(default=0.2, ge=0, lt=1)
    webhook_throttle_seconds: float = Field(default=60.0, ge=0)
    webhook_disable_after_days: float = Field(default=5.0, gt=0)
    # A fleet on PostgreSQL. Followers ask for the scheduler leader lock this often, so a new
    # leader takes over within about this long after the leader dies. A read with min_position
    # waits at most min_position_timeout_seconds for the read models (then 503), checking at
    # least every min_position_poll_seconds when no signal comes.
    leader_retry_seconds: float = Field(default=2.0, gt=0)
    # LISTEN/NOTIFY wake-ups between processes (PostgreSQL). Off: every process falls back to
    # its polls. LISTEN needs a session of its own, so behind a pooler in transaction mode
    # (PgBouncer) point the listener at the database directly or turn this off.
    pg_listen: bool = True
    min_position_timeout_seconds: float = Field(default=2.0, ge=0, le=60)
    min_position_poll_seconds: float = Field(default=0.5, gt=0)

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, url: str) -> str:
        return normalise_database_url(url)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
