"""Request and response schemas of the feeds resource."""

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.api.pagination import Page
from service.feeds.registry import FeedState
from service.feeds.reports import FoundStatement, PollReport

FeedStatus = Literal["polling", "paused", "stopped", "deleted"]


class FeedIn(BaseModel):
    """A feed to poll: news to extract statements from, or a document of ready statements."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://example.org/world/rss.xml",
                    "kind": "news",
                    "interval_seconds": 900,
                    "name": "Example World News",
                }
            ]
        },
    )

    url: str = Field(min_length=1, max_length=2048, description="An http(s) URL.")
    kind: Literal["news", "statements"] = Field(
        default="news",
        description="`news`: RSS, Atom or JSON Feed, statements are extracted from the text; "
        '`statements`: a JSON document `{"statements": [...]}` in the API\'s statement schema.',
    )
    interval_seconds: int | None = Field(
        default=None,
        ge=1,
        description="Seconds between polls, within the server's bounds; default the server's.",
    )
    name: str | None = Field(
        default=None, max_length=200, description="Shown in listings; the publisher of sources."
    )


class FeedOut(BaseModel):
    """A feed and the state of its polling."""

    id: uuid.UUID
    url: str
    kind: str
    name: str | None
    interval_seconds: int
    status: FeedStatus = Field(
        description="`polling`; `paused` after repeated failures, until resumed; `stopped` after "
        "410 Gone, until resumed; `deleted`: never polled again, history kept."
    )
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_outcome: str | None = Field(
        description="`ok`, `not_modified`, `retry_later`, `error` or `gone`."
    )
    last_http_status: int | None
    last_error: str | None = Field(description="Why the last failing poll failed; null once ok.")
    last_warning: str | None = Field(
        description="What the last poll with a body could not use (skipped items, statements "
        "the record refused)."
    )
    consecutive_failures: int
    next_poll_at: datetime | None = Field(description="Null when the feed is not polling.")
    schedule_reason: str | None = Field(description="Why the next poll is when it is.")
    items_seen: int
    statements_produced: int
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, feed: FeedState) -> "FeedOut":
        status: FeedStatus = (
            "deleted"
            if not feed.active
            else "stopped"
            if feed.stopped
            else "paused"
            if feed.paused
            else "polling"
        )
        return cls(
            id=feed.id,
            url=feed.url,
            kind=feed.kind,
            name=feed.name,
            interval_seconds=feed.interval_seconds,
            status=status,
            last_poll_at=feed.last_poll_at,
            last_success_at=feed.last_success_at,
            last_outcome=feed.last_outcome,
            last_http_status=feed.last_http_status,
            last_error=feed.last_error,
            last_warning=feed.last_warning,
            consecutive_failures=feed.consecutive_failures,
            next_poll_at=feed.next_poll_at if status == "polling" else None,
            schedule_reason=feed.schedule_reason,
            items_seen=feed.items_seen,
            statements_produced=feed.statements_produced,
            created_at=feed.created_at,
            created_by=feed.created_by,
        )


class FeedPage(Page[FeedOut]):
    """A page of feeds, oldest first."""


class FoundStatementOut(BaseModel):
    statement_id: uuid.UUID
    actor_id: str
    topic_id: str
    stance: str
    confidence: float
    item_link: str | None = Field(description="The item the statement came from: its source.")
    position: int = Field(description="Where its event is in the log.")
    duplicate: bool = Field(description="Already recorded by an earlier, interrupted poll.")

    @classmethod
    def of(cls, found: FoundStatement) -> "FoundStatementOut":
        return cls(**asdict(found))


class PollOut(BaseModel):
    """What polling the feed now found, and the feed's state afterwards."""

    outcome: str = Field(description="`ok`, `not_modified`, `retry_later`, `error` or `gone`.")
    http_status: int | None
    new_items: int = Field(description="Items this feed had not carried before.")
    statements: list[FoundStatementOut]
    warnings: list[str]
    error: str | None
    feed: FeedOut

    @classmethod
    def of(cls, report: PollReport, feed: FeedState) -> "PollOut":
        return cls(
            outcome=report.outcome,
            http_status=report.http_status,
            new_items=report.new_items,
            statements=[FoundStatementOut.of(s) for s in report.statements],
            warnings=list(report.warnings),
            error=report.error,
            feed=FeedOut.of(feed),
        )
