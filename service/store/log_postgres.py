"""The log's SQL for PostgreSQL, on the raw psycopg connection.

An append is one call of the ``append_events`` function (created by the first migration): it takes
the append lock, checks idempotency and the expected version, and inserts the batch, all in one
round trip. Inside a PL/pgSQL function each statement takes a fresh snapshot, so the checks after
the lock see every append committed before it, which a single SQL statement could not.

Reads ask for results in binary: psycopg decodes integers, UUIDs and timestamps from their binary
form faster than it parses their text, and reading the log is mostly that decoding. The payloads
come as text (``data::text``; the binary form of JSONB is that same text behind a version byte, so
the server does the same work) and orjson parses them in the read loop: a Python loader called
twice per row cost 1.3 us an event more.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg

from service.store.records import AppendOutcome, NewEvent, RecordedEvent

_SELECT = (
    "SELECT position, event_id, stream_id, version, type, schema_version, data::text, "
    "metadata::text, recorded_at FROM events"
)
_APPEND = (
    "SELECT outcome, stream_version, first_position, recorded_at FROM append_events(%s, %s, %s)"
)


def append(
    connection: psycopg.Connection[Any],
    *,
    stream_id: str,
    expected_version: int | None,
    events: Sequence[NewEvent],
    schema_versions: Sequence[int],
    recorded_at: datetime | None = None,
) -> AppendOutcome:
    """One call of ``append_events``, the batch sent as one JSON document of columns."""
    columns: dict[str, Any] = {
        "event_id": [event.event_id for event in events],
        "type": [event.type for event in events],
        "schema_version": schema_versions,
        "data": [event.data for event in events],
        "metadata": [event.metadata for event in events],
    }
    if recorded_at is not None:
        columns["recorded_at"] = recorded_at.isoformat()
    batch = orjson.dumps(columns)
    row = connection.execute(
        _APPEND, (stream_id, expected_version, batch.decode()), prepare=True
    ).fetchone()
    assert row is not None
    outcome, stream_version, first_position, recorded_at = row
    return AppendOutcome(outcome, stream_version, first_position, recorded_at)


def read_by_ids(
    connection: psycopg.Connection[Any], event_ids: Sequence[uuid.UUID]
) -> list[RecordedEvent]:
    cursor = connection.execute(
        f"{_SELECT} WHERE event_id = ANY(%b)", (list(event_ids),), binary=True
    )
    return _events(cursor.fetchall())


def read_all(
    connection: psycopg.Connection[Any], *, after: int, limit: int, types: Sequence[str] | None
) -> list[RecordedEvent]:
    if types is None:
        cursor = connection.execute(
            f"{_SELECT} WHERE position > %s ORDER BY position LIMIT %s",
            (after, limit),
            prepare=True,
            binary=True,
        )
    else:
        cursor = connection.execute(
            f"{_SELECT} WHERE position > %s AND type = ANY(%b) ORDER BY position LIMIT %s",
            (after, list(types), limit),
            prepare=True,
            binary=True,
        )
    return _events(cursor.fetchall())


def read_stream(
    connection: psycopg.Connection[Any], *, stream_id: str, from_version: int
) -> list[RecordedEvent]:
    cursor = connection.execute(
        f"{_SELECT} WHERE stream_id = %s AND version >= %s ORDER BY version",
        (stream_id, from_version),
        prepare=True,
        binary=True,
    )
    return _events(cursor.fetchall())


def _events(rows: list[tuple[Any, ...]]) -> list[RecordedEvent]:
    """Driver rows to events, as stored (the store upcasts)."""
    loads, make, event = orjson.loads, _new, _EVENT
    return [
        make(event, (p, e, s, v, t, sv, loads(d), loads(m), r))
        for p, e, s, v, t, sv, d, m, r in rows
    ]


_new, _EVENT = tuple.__new__, RecordedEvent
