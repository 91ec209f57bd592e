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
    public_reads: bool = True
    allow_private_urls: bool = False
    log_level: str = "info"
    # Request bodies above this are refused with 413 while they stream in (1 MiB by default).
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    # Server-sent events: a comment this often keeps proxies from closing an idle stream, and a
    # slow poll picks up events that other processes appended (this process's own wake at once).
    sse_keepalive_seconds: float = Field(default=15.0, gt=0)
    sse_poll_seconds: float = Field(default=2.0, gt=0)
    # How long an API key lookup is reused; a revoked key stops working within this time.
    api_key_cache_seconds: float = Field(default=5.0, ge=0)

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, url: str) -> str:
        return normalise_database_url(url)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
