"""The append-only event store: append with optimistic concurrency, read in position order.

Ordering guarantee. Positions are assigned by the store itself, inside the append transaction and
under one append lock: ``pg_advisory_xact_lock`` on PostgreSQL, the write lock that ``BEGIN
IMMEDIATE`` takes on SQLite. The lock is held until commit, so appends commit in position order and
positions are dense (a rolled-back append leaves no hole, unlike a sequence). A reader that sees
position ``p`` has therefore already been able to see every position below it: it can move its
cursor to the last position it read and never miss an event that commits later.

We chose serialised appends over "stop at the oldest in-flight transaction" (xmin tracking)
because it is exact on both backends with the same code, keeps readers trivial (``position >
cursor``), and costs little: an append holds the lock for a few hundred microseconds plus its
commit, which is the floor of a single-writer log anyway; batching appends is how throughput grows.

Every function takes the caller's session and only flushes; the caller commits (``Database.write``).
"""

import json
import operator
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any, Final

from sqlalchemy import text
from sqlmodel import Session

from service.domain.upcasting import UpcasterRegistry
from service.store import log_postgres, log_rows, log_sqlite
from service.store.collector import paused_collector
from service.store.records import NewEvent, RecordedEvent

__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "AppendResult",
    "ConcurrencyError",
    "EventIdConflict",
    "EventStore",
    "EventStoreError",
    "NewEvent",
    "RecordedEvent",
]

NO_STREAM: Final = -1
"""Expected version of a stream that must not exist yet."""

ANY_VERSION: Final = None
"""Expected version that skips the concurrency check (appends at the stream's end)."""


class EventStoreError(Exception):
    """Base class for errors the store raises on purpose."""


class ConcurrencyError(EventStoreError):
    """The stream moved since the writer read it; nothing was written. Reload and retry."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual_version}, "
            f"the append expected version {expected_version}"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class EventIdConflict(EventStoreError):
    """An event id is already stored with other content (or only part of a batch is)."""

    def __init__(self, event_id: uuid.UUID, reason: str) -> None:
        super().__init__(f"event {event_id} conflicts with the stored event: {reason}")
        self.event_id = event_id


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where the batch landed; ``stream_version`` is the expected version for the next append.

    ``duplicate`` is true when every event was already stored (an idempotent retry)."""

    positions: list[int]
    stream_version: int
    recorded_at: datetime | None
    duplicate: bool = False


class EventStore:
    """The log. Holds only its upcaster registry; safe to share between threads."""

    def __init__(self, upcasters: UpcasterRegistry | None = None) -> None:
        self.upcasters = upcasters or UpcasterRegistry()

    def append(
        self,
        session: Session,
        *,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[NewEvent],
        recorded_at: datetime | None = None,
    ) -> AppendResult:
        """Append ``events`` to ``stream_id`` if it is still at ``expected_version``.

        Re-appending events already stored (same ids, same content) is a no-op that answers with
        their original positions, so a writer can retry after a timeout without doubling anything.
        ``recorded_at`` is for imports only: the transaction time the events had where they came
        from (the store still never lets it run backwards); writers leave it to the store's clock.
        """
        if not events:
            raise ValueError("append needs at least one event")
        # Hashing ``.int`` rather than the UUID: ``UUID.__hash__`` is a Python call per event.
        if len({event.event_id.int for event in events}) != len(events):
            raise ValueError("an append may not carry the same event id twice")
        backend, connection = _backend(session)
        current = self.upcasters.current_versions()
        outcome = backend.append(
            connection,
            stream_id=stream_id,
            expected_version=expected_version,
            events=events,
            schema_versions=[
                event.schema_version or current.get(event.type, 1) for event in events
            ],
            recorded_at=recorded_at,
        )
        if outcome.outcome == "stored":
            return self._replayed_append(session, stream_id, events, outcome.stream_version)
        if outcome.outcome == "conflict":
            assert expected_version is not None
            raise ConcurrencyError(stream_id, expected_version, outcome.stream_version)
        assert outcome.first_position is not None
        return AppendResult(
            positions=list(range(outcome.first_position, outcome.first_position + len(events))),
            stream_version=outcome.stream_version,
            recorded_at=outcome.recorded_at,
        )

    def _replayed_append(
        self, session: Session, stream_id: str, events: Sequence[NewEvent], stream_version: int
    ) -> AppendResult:
        stored = {e.event_id: e for e in self.read_by_ids(session, [e.event_id for e in events])}
        for event in events:
            original = stored.get(event.event_id)
            if original is None:
                raise EventIdConflict(event.event_id, "part of this batch is stored, part is not")
            same = (original.stream_id, original.type) == (stream_id, event.type) and _canonical(
                original.data
            ) == _canonical(event.data)
            if not same:
                raise EventIdConflict(event.event_id, "the same id was stored with other content")
        return AppendResult(
            positions=[stored[e.event_id].position for e in events],
            stream_version=stream_version,
            recorded_at=stored[events[-1].event_id].recorded_at,
            duplicate=True,
        )

    def read_by_ids(self, session: Session, event_ids: Sequence[uuid.UUID]) -> list[RecordedEvent]:
        """The stored events among ``event_ids``, in position order."""
        backend, connection = _backend(session)
        events = backend.read_by_ids(connection, event_ids)
        events.sort(key=_position)
        return self._upcast(events)

    def read_all(
        self,
        session: Session,
        *,
        after: int = 0,
        limit: int = 1000,
        types: Iterable[str] | None = None,
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events with position > ``after``, in position order."""
        backend, connection = _backend(session)
        with paused_collector:
            events = backend.read_all(
                connection, after=after, limit=limit, types=None if types is None else list(types)
            )
        return self._upcast(events)

    def read_stored(
        self, session: Session, *, after: int = 0, limit: int = 1000
    ) -> list[RecordedEvent]:
        """Like ``read_all``, but each payload exactly as stored, under its stored schema version
        (exports keep what was written; upcasting is for readers)."""
        backend, connection = _backend(session)
        with paused_collector:
            return backend.read_all(connection, after=after, limit=limit, types=None)

    def read_stream(
        self, session: Session, stream_id: str, *, from_version: int = 0
    ) -> list[RecordedEvent]:
        """Every event of one stream from ``from_version`` on, in version order."""
        backend, connection = _backend(session)
        with paused_collector:
            events = backend.read_stream(connection, stream_id=stream_id, from_version=from_version)
        return self._upcast(events)

    def stream_version(self, session: Session, stream_id: str) -> int:
        """The stream's last version, or ``NO_STREAM`` when it has no events."""
        version = _scalar(
            session, "SELECT max(version) FROM events WHERE stream_id = :s", s=stream_id
        )
        return NO_STREAM if version is None else int(version)

    def last_position(self, session: Session) -> int:
        """The position of the newest event, 0 for an empty log."""
        return log_rows.last_position(session.connection())

    def _upcast(self, events: list[RecordedEvent]) -> list[RecordedEvent]:
        """Replace, in place, the events stored under an older schema by their upcast form.

        Stored events are almost all current, and a page holds few (type, version) pairs: those
        are collected without a Python loop, and only a page with an old pair is walked."""
        current = self.upcasters.current_versions()
        pairs = set(map(_type_and_version, events))
        if all(version == current.get(type_, 1) for type_, version in pairs):
            return events
        for index, event in enumerate(events):
            if event.schema_version != current.get(event.type, 1):
                schema_version, data = self.upcasters.upcast(
                    event.type, event.schema_version, event.data
                )
                events[index] = event._replace(schema_version=schema_version, data=data)
        return events


_type_and_version = operator.itemgetter(4, 5)


def _position(event: RecordedEvent) -> int:
    return event.position


def _backend(session: Session) -> tuple[ModuleType, Any]:
    """The backend module and the raw driver connection inside the session's transaction."""
    connection = session.connection()
    module = log_sqlite if connection.dialect.name == "sqlite" else log_postgres
    return module, connection.connection.driver_connection


def _scalar(session: Session, sql: str, **params: Any) -> Any:
    return session.connection().execute(text(sql), params).scalar()


def _canonical(data: dict[str, Any]) -> str:
    """A form of a payload that compares equal however the database stored it (JSONB reorders)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
