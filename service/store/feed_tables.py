"""The ``feeds`` and ``feed_items`` tables: what to poll, how each poll went, what was seen.

Unlike the read models these are not projections of the log: a feed's state is operational
(validators, backoff, the poller's lease) and is written directly, while the statements a feed
produces go through the command bus like any other. ``feed_items`` is what makes polling the same
document twice store nothing new.
"""

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Uuid, text
from sqlmodel import Field, SQLModel

from service.store.types import UTCDateTime


class FeedRow(SQLModel, table=True):
    """One feed. ``active`` is false once deleted; ``paused`` after too many failures in a row
    (until resumed); ``stopped`` after a 410 Gone. ``claimed_until``/``claim_token`` are the
    lease of the worker polling it now."""

    __tablename__ = "feeds"
    __table_args__ = (
        Index("ix_feeds_due", "active", "next_poll_at"),
        Index(
            "uq_feeds_active_url",
            "url",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        Index("ix_feeds_created", "created_at", "id"),
    )

    id: uuid.UUID = Field(primary_key=True)
    url: str = Field(sa_type=String(2048), nullable=False)
    kind: str = Field(sa_type=String(20), nullable=False)
    name: str | None = Field(default=None, sa_type=String(200), nullable=True)
    interval_seconds: int = Field(nullable=False)
    active: bool = Field(nullable=False)
    paused: bool = Field(nullable=False)
    stopped: bool = Field(nullable=False)
    etag: str | None = Field(default=None, sa_type=String(500), nullable=True)
    last_modified: str | None = Field(default=None, sa_type=String(100), nullable=True)
    last_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    last_outcome: str | None = Field(default=None, sa_type=String(20), nullable=True)
    last_http_status: int | None = Field(default=None, nullable=True)
    last_error: str | None = Field(default=None, sa_type=String(1000), nullable=True)
    last_warning: str | None = Field(default=None, sa_type=String(1000), nullable=True)
    consecutive_failures: int = Field(nullable=False)
    next_poll_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    schedule_reason: str | None = Field(default=None, sa_type=String(300), nullable=True)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    claim_token: uuid.UUID | None = Field(default=None, nullable=True)
    items_seen: int = Field(nullable=False)
    statements_produced: int = Field(nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    created_by: str = Field(sa_type=String(100), nullable=False)


class FeedItemRow(SQLModel, table=True):
    """An item a feed has carried, keyed by the hash of its GUID (see ``service.feeds.items``)."""

    __tablename__ = "feed_items"

    feed_id: uuid.UUID = Field(
        sa_column=Column("feed_id", Uuid(), ForeignKey("feeds.id"), primary_key=True)
    )
    guid_hash: str = Field(sa_type=String(64), primary_key=True)
    link: str | None = Field(default=None, sa_type=String(2048), nullable=True)
    title: str | None = Field(default=None, sa_type=String(1000), nullable=True)
    first_seen_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    statements: int = Field(nullable=False)


feeds_table = FeedRow.__table__  # type: ignore[attr-defined]
feed_items_table = FeedItemRow.__table__  # type: ignore[attr-defined]
