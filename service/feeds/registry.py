"""Feeds as data: add, list, read, delete and resume, for the API and the CLI alike.

A deleted feed is only marked inactive: its row, its items and the statements it produced stay,
so the record of where a statement came from never dangles. Deleting frees the URL, which may
then be added again as a new feed.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from service.db import Database
from service.store.feed_tables import feeds_table

_F = feeds_table


class FeedKind(StrEnum):
    NEWS = "news"  # RSS, Atom or JSON Feed: statements are extracted from the text
    STATEMENTS = "statements"  # a JSON document of ready statements in the API's schema


class FeedRefused(Exception):
    """A feed operation that cannot be done; ``code`` is stable, the message is for people."""

    code = "feed-refused"

    def __init__(self, message: str, *, feed_id: uuid.UUID | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.feed_id = feed_id


class FeedNotFound(FeedRefused):
    code = "feed-not-found"


class FeedDeleted(FeedRefused):
    code = "feed-deleted"


class FeedBusy(FeedRefused):
    """Another worker holds the feed's lease: it is being polled right now."""

    code = "feed-busy"


class FeedUrlTaken(FeedRefused):
    code = "feed-exists"


@dataclass(frozen=True)
class FeedState:
    """A feed and the state of its polling, as listings and the poller see it."""

    id: uuid.UUID
    url: str
    kind: str
    name: str | None
    interval_seconds: int
    active: bool
    paused: bool
    stopped: bool
    etag: str | None
    last_modified: str | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_outcome: str | None
    last_http_status: int | None
    last_error: str | None
    last_warning: str | None
    consecutive_failures: int
    next_poll_at: datetime
    schedule_reason: str | None
    items_seen: int
    statements_produced: int
    created_at: datetime
    created_by: str

    @property
    def polling(self) -> bool:
        """Whether the scheduler will poll it when due."""
        return self.active and not self.paused and not self.stopped


_STATE_COLUMNS = tuple(_F.c[name] for name in FeedState.__dataclass_fields__)


def select_states() -> Select[Any]:
    """``SELECT`` of every ``FeedState`` column, for callers to add their ``WHERE``."""
    return select(*_STATE_COLUMNS)


def feed_state(row: Any) -> FeedState:
    return FeedState(**{name: row[name] for name in FeedState.__dataclass_fields__})


def add_feed(
    database: Database,
    *,
    url: str,
    kind: FeedKind | str,
    interval_seconds: int,
    name: str | None,
    created_by: str,
    now: datetime,
) -> FeedState:
    """A new feed, due at once; ``FeedUrlTaken`` if a live feed already polls ``url``."""
    feed_id = uuid.uuid4()
    row = {
        "id": feed_id,
        "url": url,
        "kind": FeedKind(kind).value,
        "name": name,
        "interval_seconds": interval_seconds,
        "active": True,
        "paused": False,
        "stopped": False,
        "consecutive_failures": 0,
        "next_poll_at": now,
        "items_seen": 0,
        "statements_produced": 0,
        "created_at": now,
        "created_by": created_by,
    }
    try:
        with database.write() as session:
            session.connection().execute(_F.insert().values(**row))
    except IntegrityError:
        raise FeedUrlTaken(f"a feed already polls {url}; delete it first") from None
    found = get_feed(database, feed_id)
    assert found is not None
    return found


def get_feed(database: Database, feed_id: uuid.UUID) -> FeedState | None:
    with database.read() as session:
        return read_feed(session.connection(), feed_id)


def read_feed(connection: Connection, feed_id: uuid.UUID) -> FeedState | None:
    row = connection.execute(select(*_STATE_COLUMNS).where(_F.c.id == feed_id)).mappings().first()
    return None if row is None else feed_state(row)


def list_feeds(
    database: Database,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
    active: bool | None = None,
) -> list[FeedState]:
    """Feeds oldest first, ``limit`` of them after ``(created_at, id)`` (keyset paging)."""
    query = select(*_STATE_COLUMNS).order_by(_F.c.created_at, _F.c.id).limit(limit)
    if after is not None:
        created_at, feed_id = after
        query = query.where(
            or_(
                _F.c.created_at > created_at,
                and_(_F.c.created_at == created_at, _F.c.id > feed_id),
            )
        )
    if active is not None:
        query = query.where(_F.c.active == active)
    with database.read() as session:
        return [feed_state(row) for row in session.connection().execute(query).mappings()]


def delete_feed(database: Database, feed_id: uuid.UUID) -> FeedState:
    """Stop polling for good; the history stays. Deleting twice is harmless."""
    with database.write() as session:
        connection = session.connection()
        _existing(connection, feed_id)
        connection.execute(update(_F).where(_F.c.id == feed_id).values(active=False))
        found = read_feed(connection, feed_id)
    assert found is not None
    return found


def resume_feed(database: Database, feed_id: uuid.UUID, *, now: datetime) -> FeedState:
    """Poll a paused or stopped feed again, at once and with a clean failure count."""
    with database.write() as session:
        connection = session.connection()
        if not _existing(connection, feed_id).active:
            raise FeedDeleted(f"feed {feed_id} was deleted; add its URL again", feed_id=feed_id)
        connection.execute(
            update(_F)
            .where(_F.c.id == feed_id)
            .values(
                paused=False,
                stopped=False,
                consecutive_failures=0,
                next_poll_at=now,
                schedule_reason="resumed",
            )
        )
        found = read_feed(connection, feed_id)
    assert found is not None
    return found


def _existing(connection: Connection, feed_id: uuid.UUID) -> FeedState:
    found = read_feed(connection, feed_id)
    if found is None:
        raise FeedNotFound(f"no feed {feed_id}", feed_id=feed_id)
    return found
