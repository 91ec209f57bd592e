"""The log's SQL for SQLite, on the raw ``sqlite3`` connection.

The store talks to the driver directly because SQLAlchemy's per-statement overhead (compile cache
lookups, result metadata) costs more than the append itself on an embedded database. Values are
stored exactly as SQLAlchemy's own types store them (UUID as 32 hex digits, JSON as text, datetimes
as naive UTC text), so ORM queries and SQLite's JSON functions on the same table agree with the
store.
"""

import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from service.domain.ids import uuid_from_int
from service.store.records import AppendOutcome, NewEvent, RecordedEvent

_SELECT = (
    "SELECT position, event_id, stream_id, version, type, schema_version, data, metadata, "
    "recorded_at FROM events"
)
_INSERT = (
    "INSERT INTO events (position, event_id, stream_id, version, type, schema_version, data, "
    "metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@lru_cache(maxsize=128)
def _state_query(event_count: int) -> str:
    """One statement for everything the append checks, so a one-event append costs one lookup
    round: the stream's version, whether any of the ids is stored, the newest position and time."""
    marks = ",".join("?" * event_count)
    return (
        "SELECT (SELECT max(version) FROM events WHERE stream_id = ?), "
        f"EXISTS (SELECT 1 FROM events WHERE event_id IN ({marks})), "
        "(SELECT max(position) FROM events), "
        "(SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1)"
    )


def append(
    connection: sqlite3.Connection,
    *,
    stream_id: str,
    expected_version: int | None,
    events: Sequence[NewEvent],
    schema_versions: Sequence[int],
    recorded_at: datetime | None = None,
) -> AppendOutcome:
    """Check and insert under the write lock the session took with ``BEGIN IMMEDIATE``."""
    ids = [event.event_id.hex for event in events]
    cursor = connection.execute(_state_query(len(ids)), (stream_id, *ids))
    current, stored, last_position, last_recorded = cursor.fetchone()
    current = -1 if current is None else current
    if stored:
        return AppendOutcome("stored", current)
    if expected_version is not None and expected_version != current:
        return AppendOutcome("conflict", current)
    last_position = last_position or 0
    recorded_at = _not_before(
        _parse_time(last_recorded) if last_recorded else None, given=recorded_at
    )
    recorded_text = recorded_at.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    connection.executemany(
        _INSERT,
        [
            (
                last_position + offset,
                event_id,
                stream_id,
                current + offset,
                event.type,
                schema_version,
                _dumps(event.data),
                _dumps(event.metadata),
                recorded_text,
            )
            for offset, (event_id, event, schema_version) in enumerate(
                zip(ids, events, schema_versions, strict=True), start=1
            )
        ],
    )
    return AppendOutcome("appended", current + len(events), last_position + 1, recorded_at)


def read_by_ids(
    connection: sqlite3.Connection, event_ids: Sequence[uuid.UUID]
) -> list[RecordedEvent]:
    marks = ",".join("?" * len(event_ids))
    rows = connection.execute(
        f"{_SELECT} WHERE event_id IN ({marks})", [e.hex for e in event_ids]
    ).fetchall()
    return _events(rows)


def read_all(
    connection: sqlite3.Connection, *, after: int, limit: int, types: Sequence[str] | None
) -> list[RecordedEvent]:
    if types is None:
        rows = connection.execute(
            f"{_SELECT} WHERE position > ? ORDER BY position LIMIT ?", (after, limit)
        ).fetchall()
    else:
        marks = ",".join("?" * len(types))
        rows = connection.execute(
            f"{_SELECT} WHERE position > ? AND type IN ({marks}) ORDER BY position LIMIT ?",
            (after, *types, limit),
        ).fetchall()
    return _events(rows)


def read_stream(
    connection: sqlite3.Connection, *, stream_id: str, from_version: int
) -> list[RecordedEvent]:
    rows = connection.execute(
        f"{_SELECT} WHERE stream_id = ? AND version >= ? ORDER BY version",
        (stream_id, from_version),
    ).fetchall()
    return _events(rows)


def _events(rows: list[tuple[Any, ...]]) -> list[RecordedEvent]:
    """Driver rows to events, as stored (the store upcasts); one comprehension, as reading the
    log is mostly this loop. The event id column only ever holds the 32 hex digits this module
    wrote, so it skips ``uuid.UUID``'s parsing."""
    loads, to_uuid, to_time, make, event = orjson.loads, uuid_from_int, _parse_time, _new, _EVENT
    return [
        make(event, (p, to_uuid(int(e, 16)), s, v, t, sv, loads(d), loads(m), to_time(r)))
        for p, e, s, v, t, sv, d, m, r in rows
    ]


_new, _EVENT = tuple.__new__, RecordedEvent


def _dumps(value: Any) -> str:
    """JSON as text, as SQLAlchemy's JSON type stores it. Not bytes: they would be stored as a BLOB,
    which SQLite's JSON functions read as binary JSONB from 3.45 on, and reject."""
    return orjson.dumps(value).decode()


@lru_cache(maxsize=4096)
def _parse_time(text: str) -> datetime:
    """Cached: events appended in one batch share their timestamp."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _not_before(last_recorded_at: datetime | None, *, given: datetime | None = None) -> datetime:
    """Now (or the ``given`` time of an import), but never earlier than the newest event:
    transaction time must not run backwards, even when the clock steps back (NTP) or another
    process's clock is ahead."""
    now = datetime.now(UTC) if given is None else given.astimezone(UTC)
    return now if last_recorded_at is None or now > last_recorded_at else last_recorded_at
