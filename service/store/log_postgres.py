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

Appends go through libpq directly, as one simple-protocol query. When the append is the first
statement of its transaction the query begins it too (``BEGIN; SELECT ... append_events(...)``):
psycopg would otherwise send its own BEGIN and wait for the answer first, even in pipeline mode,
one round trip of the three a one-event transaction took. It also skips the cursor machinery
(query conversion, dumpers, the prepared statement manager): a one-row SELECT took 129 us through
a cursor against 67 us sent this way, on the same (busy) machine. The parameters are two literals
escaped by libpq and a number; the four values of the answer are loaded by psycopg's loaders.
The statement is not prepared: planning a call of one function is a few microseconds, and PL/pgSQL
caches the plans inside it per connection anyway.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import errors, generators
from psycopg.adapt import Transformer
from psycopg.pq import Escaping, ExecStatus, TransactionStatus

from service.store.records import AppendOutcome, NewEvent, RecordedEvent

_SELECT = (
    "SELECT position, event_id, stream_id, version, type, schema_version, data::text, "
    "metadata::text, recorded_at FROM events"
)
_APPEND = (
    b"SELECT outcome, stream_version, first_position, recorded_at "
    b"FROM append_events(%b::text, %b::integer, %b::jsonb)"
)
_BEGIN = b"BEGIN; "
_IDLE = TransactionStatus.IDLE
_FATAL_ERROR = ExecStatus.FATAL_ERROR


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
    outcome, stream_version, first_position, recorded_at = _call_append(
        connection, stream_id, expected_version, orjson.dumps(columns)
    )
    return AppendOutcome(outcome, stream_version, first_position, recorded_at)


def _call_append(
    connection: psycopg.Connection[Any],
    stream_id: str,
    expected_version: int | None,
    batch: bytes,
) -> tuple[Any, ...]:
    """Run ``append_events`` in one round trip, beginning the transaction if none is open."""
    pgconn, encoding = connection.pgconn, connection.info.encoding
    if encoding != "utf-8":  # orjson writes UTF-8; libpq sends bytes as they are
        batch = batch.decode().encode(encoding)
    escaping = Escaping(pgconn)
    query = _APPEND % (
        escaping.escape_literal(stream_id.encode(encoding)),
        b"NULL" if expected_version is None else b"%d" % expected_version,
        escaping.escape_literal(batch),
    )
    with connection.lock:
        if pgconn.transaction_status == _IDLE and not connection.autocommit:
            query = _BEGIN + query
        pgconn.send_query(query)
        results = connection.wait(generators.execute(pgconn))
    for result in results:
        if result.status == _FATAL_ERROR:
            raise errors.error_from_result(result, encoding=encoding)
    answer = Transformer(connection)
    answer.set_pgresult(results[-1])
    row = answer.load_row(0, tuple)
    assert row is not None
    return row


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
