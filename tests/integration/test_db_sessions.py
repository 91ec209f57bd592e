"""Database sessions on both backends: what commits, what rolls back, what they cost on the wire.

``Database`` begins one transaction per block on one pooled connection and lets the ORM join it.
These tests pin down that ORM and Core work share that transaction, that ``commit()``,
``rollback()`` and errors end it as a plain session would, and, on PostgreSQL, that a checkout
costs no round trip yet still replaces a connection the server dropped.
"""

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import pq
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from service.db import Database
from service.store.auth_tables import ApiKeyRow
from service.store.event_store import NO_STREAM, EventStore, NewEvent
from tests.conftest import postgres_url


def _key(name: str) -> ApiKeyRow:
    return ApiKeyRow(
        name=name, key_hash=name * 4, prefix=name, can_write=True, created_at=datetime.now(UTC)
    )


def _names(database: Database) -> list[str]:
    with database.read() as session:
        return list(session.exec(select(ApiKeyRow.name).order_by(ApiKeyRow.name)).all())


def _positions(database: Database, store: EventStore) -> list[int]:
    with database.read() as session:
        return [e.position for e in store.read_all(session)]


def test_orm_and_core_work_in_one_write_commit_together(database: Database, store: EventStore):
    with database.write() as session:
        session.add(_key("orm"))
        session.flush()
        store.append(session, stream_id="s", expected_version=NO_STREAM, events=[NewEvent("A", {})])

    assert _names(database) == ["orm"]
    assert _positions(database, store) == [1]


def test_an_error_in_a_write_rolls_back_orm_and_core_work(database: Database, store: EventStore):
    with pytest.raises(RuntimeError), database.write() as session:
        session.add(_key("lost"))
        session.flush()
        store.append(session, stream_id="s", expected_version=NO_STREAM, events=[NewEvent("A", {})])
        raise RuntimeError("the handler failed")

    assert _names(database) == []
    assert _positions(database, store) == []


def test_rollback_inside_a_write_discards_what_came_before_it(
    database: Database, store: EventStore
):
    with database.write() as session:
        session.add(_key("discarded"))
        store.append(session, stream_id="s", expected_version=NO_STREAM, events=[NewEvent("A", {})])
        session.rollback()
        store.append(session, stream_id="t", expected_version=NO_STREAM, events=[NewEvent("B", {})])

    with database.read() as session:
        assert [e.stream_id for e in store.read_all(session)] == ["t"]
    assert _names(database) == []


def test_commit_inside_a_write_commits_and_the_block_goes_on(database: Database, store: EventStore):
    with pytest.raises(RuntimeError), database.write() as session:
        session.add(_key("kept"))
        session.commit()
        store.append(session, stream_id="s", expected_version=NO_STREAM, events=[NewEvent("A", {})])
        raise RuntimeError("after the commit")

    assert _names(database) == ["kept"]
    assert _positions(database, store) == []


def test_postgres_read_sessions_refuse_writes(make_database):
    database = Database(make_database("postgresql").engine)

    with pytest.raises(DBAPIError, match="read-only"), database.read() as session:
        session.add(_key("sneaky"))
        session.flush()

    with database.write() as session:  # the connection went back to the pool writable
        session.add(_key("allowed"))
    assert _names(database) == ["allowed"]


def _driver_pid(database: Database) -> int:
    with database.read() as session:
        return int(session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def test_postgres_replaces_a_pooled_connection_the_server_dropped(make_database):
    database = Database(make_database("postgresql").engine)
    dropped = _driver_pid(database)
    with psycopg.connect(postgres_url().replace("+psycopg", ""), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (dropped,)).fetchone() == (True,)
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (dropped,)).fetchone():
            assert time.monotonic() < deadline, "the backend did not exit"
            time.sleep(0.05)

    store = EventStore()
    with database.write() as session:  # would fail on the dead connection
        store.append(session, stream_id="s", expected_version=NO_STREAM, events=[NewEvent("A", {})])

    assert _driver_pid(database) != dropped
    assert _positions(database, store) == [1]


def _round_trips(trace: str) -> list[str]:
    """The client messages that wait for the server's answer (``Query``, or ``Sync`` closing an
    extended-protocol exchange), each with the statement or message before it."""
    trips, pending = [], ""
    for line in trace.splitlines():
        fields = line.split("\t")
        if len(fields) < 3 or fields[0] != "F":
            continue
        message = " ".join(fields[2:])
        if message.startswith("Query"):
            trips.append(message)
        elif message.startswith("Sync"):
            trips.append(pending)
        else:
            pending = pending or message
            continue
        pending = ""
    return trips


def test_postgres_an_append_is_two_round_trips_and_reads_keep_prepared_statements(
    make_database,
):
    database, store = Database(make_database("postgresql").engine), EventStore()
    with database.write() as session:  # the pool's connection, warmed up
        store.append(
            session, stream_id="warm", expected_version=NO_STREAM, events=[NewEvent("A", {})]
        )
    with database.read() as session:
        store.read_all(session)
        driver = session.connection().connection.driver_connection

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "trace"
        with path.open("w") as sink:
            driver.pgconn.trace(sink.fileno())
            driver.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
            try:
                with database.write() as session:
                    store.append(
                        session,
                        stream_id="s",
                        expected_version=NO_STREAM,
                        events=[NewEvent("B", {})],
                    )
                written = path.read_text()
                with database.read() as session:
                    store.read_all(session)
                    store.read_all(session, after=1)
            finally:
                driver.pgconn.untrace()
        trace = path.read_text()

    append = _round_trips(written)
    assert [trip.split(" ", 1)[0] for trip in append] == ["Query", "Query"]
    assert "BEGIN; SELECT" in append[0] and "append_events(" in append[0]
    assert "COMMIT" in append[1]
    read = _round_trips(trace[len(written) :])
    assert len(read) == 4  # BEGIN READ ONLY, two executions of the prepared read, COMMIT
    assert "BEGIN READ ONLY" in read[0] and "COMMIT" in read[-1]
    assert "Parse" not in trace and "DEALLOCATE" not in trace


def test_sqlite_and_postgres_reads_see_only_committed_work(database: Database, store: EventStore):
    with database.write() as session:
        store.append(session, stream_id="s", expected_version=NO_STREAM, events=[NewEvent("A", {})])
        with database.read() as reader:  # another connection: the append is not committed yet
            assert store.read_all(reader) == []
            assert reader.connection().execute(text("SELECT count(*) FROM events")).scalar() == 0
    assert _positions(database, store) == [1]
