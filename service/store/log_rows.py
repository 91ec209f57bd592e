"""The log as driver rows, for a replay that writes driver rows back.

A rebuild copies each event's id and transaction time into several read-model rows. Read through
``EventStore.read_all`` they become ``uuid.UUID`` and aware ``datetime`` objects, only for the
bulk writer to turn them back into the driver's form (on SQLite the very text they were read
as). Here they stay in that form: SQLite's 32 hex digits and naive UTC text, PostgreSQL's typed
values; except PostgreSQL's event ids, read as their 16 bytes: a rebuild names an event only in
its few stance changes, and making a ``uuid.UUID`` of each of 200,000 ids (``UUID.__init__`` is
Python) took a sixth of the log's read (1.60 s against 1.31 s). Payloads are parsed and upcast
exactly as the store does it.
"""

import uuid
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection

from service.domain.upcasting import UpcasterRegistry
from service.store.driver_sql import sqlite_time
from service.store.log_sqlite import _parse_time


class LogRow(NamedTuple):
    """One event; ``event_id`` and ``recorded_at`` in the driver's form (see the module;
    ``event_uuid`` makes a ``uuid.UUID`` of the id)."""

    position: int
    event_id: Any
    type: str
    data: dict[str, Any]
    recorded_at: Any


_SQLITE = (
    "SELECT position, event_id, type, schema_version, data, recorded_at FROM events "
    "WHERE position > ? AND position <= ? ORDER BY position LIMIT ?"
)
_POSTGRES = (
    "SELECT position, uuid_send(event_id), type, schema_version, data::text, recorded_at "
    "FROM events WHERE position > %s AND position <= %s ORDER BY position LIMIT %s"
)
_SQLITE_TIME_LENGTH = len("2024-01-01 00:00:00.000000")


def event_uuid(value: Any) -> uuid.UUID:
    """An event id as ``read`` gives it (PostgreSQL's 16 bytes, SQLite's hex digits)."""
    return uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(value)


def last_position(connection: Connection) -> int:
    """The position of the newest event, 0 for an empty log."""
    return int(connection.exec_driver_sql("SELECT max(position) FROM events").scalar() or 0)


def read(
    connection: Connection,
    upcasters: UpcasterRegistry,
    *,
    after: int,
    until: int,
    limit: int,
) -> list[LogRow]:
    """Up to ``limit`` events with ``after < position <= until``, in position order."""
    driver = connection.connection.driver_connection
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        rows = driver.execute(_SQLITE, (after, until, limit)).fetchall()  # type: ignore[union-attr]
    else:
        cursor = driver.execute(_POSTGRES, (after, until, limit), binary=True)  # type: ignore[union-attr]
        rows = cursor.fetchall()
    current = upcasters.current_versions()
    loads, new, row_type = orjson.loads, tuple.__new__, LogRow
    events = []
    for position, event_id, type_, schema_version, data, recorded_at in rows:
        payload = loads(data)
        if schema_version != current.get(type_, 1):
            _version, payload = upcasters.upcast(type_, schema_version, payload)
        if sqlite and (len(recorded_at) != _SQLITE_TIME_LENGTH or recorded_at[10] != " "):
            recorded_at = sqlite_time(_parse_time(recorded_at))  # not in SQLAlchemy's form
        events.append(new(row_type, (position, event_id, type_, payload, recorded_at)))
    return events
