"""Who polls which feed: claims with a lease, and the write of a poll's outcome.

A worker claims due feeds in one short transaction by stamping ``claimed_until`` and a fresh
``claim_token`` on them. On PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED``, so
workers claiming at the same instant take disjoint sets instead of queueing on each other's rows;
on SQLite the write transaction starts with ``BEGIN IMMEDIATE`` (``Database.write``), which
serialises claimers outright. A claim whose lease has run out (its worker was killed, or hung)
is up for grabs again.

The outcome is written only while the token still matches: a worker that lost its lease (it ran
past it and another worker took the feed) must not overwrite newer state. What it appended is
harmless either way: statements carry deterministic event ids and items are inserted with
``ON CONFLICT DO NOTHING``.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from service.db import Database
from service.feeds.registry import (
    FeedBusy,
    FeedDeleted,
    FeedNotFound,
    FeedState,
    feed_state,
    read_feed,
    select_states,
)
from service.feeds.schedule import PollPlan
from service.store.feed_tables import feed_items_table, feeds_table

_F = feeds_table
_ERROR_LENGTH = 1000


@dataclass(frozen=True)
class Claim:
    """A feed this worker may poll until ``until``; ``token`` proves it when writing back."""

    feed: FeedState
    token: uuid.UUID
    until: datetime


@dataclass(frozen=True)
class SeenItem:
    guid_hash: str
    link: str | None
    title: str | None
    statements: int


@dataclass(frozen=True)
class PollOutcome:
    """Everything a poll changes in the feed's row, and the items it saw for the first time."""

    polled_at: datetime
    outcome: str
    http_status: int | None
    plan: PollPlan
    succeeded: bool
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    warnings: tuple[str, ...] | None = None  # None: the poll read no body, keep the old warning
    items: tuple[SeenItem, ...] = ()
    statements: int = 0


def _claimable(now: datetime) -> Any:
    return or_(_F.c.claimed_until.is_(None), _F.c.claimed_until <= now)


def claim_due(database: Database, *, now: datetime, lease: timedelta, limit: int) -> list[Claim]:
    """Claim up to ``limit`` due feeds, the most overdue first."""
    token, until = uuid.uuid4(), now + lease
    with database.write() as session:
        connection = session.connection()
        candidates = (
            select(_F.c.id)
            .where(
                _F.c.active,
                ~_F.c.paused,
                ~_F.c.stopped,
                _F.c.next_poll_at <= now,
                _claimable(now),
            )
            .order_by(_F.c.next_poll_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(connection.execute(candidates).scalars())
        if not ids:
            return []
        connection.execute(
            update(_F).where(_F.c.id.in_(ids)).values(claimed_until=until, claim_token=token)
        )
        rows = connection.execute(
            select_states().where(_F.c.id.in_(ids)).order_by(_F.c.next_poll_at)
        ).mappings()
        claimed = [feed_state(row) for row in rows]
    return [Claim(feed, token, until) for feed in claimed]


def claim_feed(database: Database, feed_id: uuid.UUID, *, now: datetime, lease: timedelta) -> Claim:
    """Claim one feed whether due or not (poll now); paused and stopped feeds may be polled.

    Raises ``FeedNotFound``, ``FeedDeleted``, or ``FeedBusy`` when another worker holds it.
    """
    token, until = uuid.uuid4(), now + lease
    with database.write() as session:
        connection = session.connection()
        taken = connection.execute(
            update(_F)
            .where(_F.c.id == feed_id, _F.c.active, _claimable(now))
            .values(claimed_until=until, claim_token=token)
        ).rowcount
        feed = read_feed(connection, feed_id)
    if feed is None:
        raise FeedNotFound(f"no feed {feed_id}", feed_id=feed_id)
    if not feed.active:
        raise FeedDeleted(f"feed {feed_id} was deleted", feed_id=feed_id)
    if taken != 1:
        raise FeedBusy(f"feed {feed_id} is being polled right now; try again", feed_id=feed_id)
    return Claim(feed, token, until)


def known_hashes(database: Database, feed_id: uuid.UUID, hashes: Sequence[str]) -> set[str]:
    """The item keys among ``hashes`` this feed has already stored."""
    if not hashes:
        return set()
    items = feed_items_table
    with database.read() as session:
        found = session.connection().execute(
            select(items.c.guid_hash).where(
                items.c.feed_id == feed_id, items.c.guid_hash.in_(list(hashes))
            )
        )
        return set(found.scalars())


def finish(database: Database, claim: Claim, outcome: PollOutcome) -> bool:
    """Write the poll's outcome and release the claim; False if the lease had been lost."""
    return finish_all(database, [(claim, outcome)])[0]


def finish_all(database: Database, polls: Sequence[tuple[Claim, PollOutcome]]) -> list[bool]:
    """``finish`` for many polls in one transaction (a cycle's 304s cost one commit)."""
    with database.write() as session:
        connection = session.connection()
        return [_write_outcome(connection, claim, outcome) for claim, outcome in polls]


def _write_outcome(connection: Connection, claim: Claim, outcome: PollOutcome) -> bool:
    plan = outcome.plan
    values: dict[str, Any] = {
        "last_poll_at": outcome.polled_at,
        "last_outcome": outcome.outcome,
        "last_http_status": outcome.http_status,
        "consecutive_failures": plan.consecutive_failures,
        "paused": plan.paused,
        "stopped": plan.stopped,
        "next_poll_at": plan.next_poll_at or outcome.polled_at,
        "schedule_reason": plan.reason[:300] or None,
        "claimed_until": None,
        "claim_token": None,
        "items_seen": _F.c.items_seen + len(outcome.items),
        "statements_produced": _F.c.statements_produced + outcome.statements,
    }
    if outcome.succeeded:
        values.update(
            last_success_at=outcome.polled_at,
            last_error=None,
            etag=_clip(outcome.etag, 500),
            last_modified=_clip(outcome.last_modified, 100),
        )
    else:
        values["last_error"] = _clip(outcome.error or outcome.outcome, _ERROR_LENGTH)
    if outcome.warnings is not None:
        values["last_warning"] = _clip("; ".join(outcome.warnings), _ERROR_LENGTH) or None
    updated = connection.execute(
        update(_F).where(_F.c.id == claim.feed.id, _F.c.claim_token == claim.token).values(**values)
    ).rowcount
    if updated != 1:
        return False
    _insert_items(connection, claim.feed.id, outcome.items, outcome.polled_at)
    return True


def release(database: Database, claim: Claim) -> None:
    """Give a claim back untouched, so the feed is polled again at its next due time."""
    with database.write() as session:
        session.connection().execute(
            update(_F)
            .where(and_(_F.c.id == claim.feed.id, _F.c.claim_token == claim.token))
            .values(claimed_until=None, claim_token=None)
        )


def _insert_items(
    connection: Connection, feed_id: uuid.UUID, items: Iterable[SeenItem], seen_at: datetime
) -> None:
    rows = [
        {
            "feed_id": feed_id,
            "guid_hash": item.guid_hash,
            "link": _clip(item.link, 2048),
            "title": _clip(item.title, 1000),
            "first_seen_at": seen_at,
            "statements": item.statements,
        }
        for item in items
    ]
    if not rows:
        return
    dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
    connection.execute(dialect.insert(feed_items_table).on_conflict_do_nothing(), rows)


def _clip(value: str | None, length: int) -> str | None:
    if value is None:
        return None
    return value if len(value) <= length else value[: length - 1] + "…"


__all__ = [
    "Claim",
    "PollOutcome",
    "SeenItem",
    "claim_due",
    "claim_feed",
    "finish",
    "finish_all",
    "known_hashes",
    "release",
]
