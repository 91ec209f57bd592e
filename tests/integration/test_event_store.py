"""The event store on SQLite and PostgreSQL: appends, concurrency, idempotency, reads, upcasting."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from service.db import Database, create_db_engine
from service.domain.upcasting import UpcasterRegistry, UpcastError
from service.store.event_store import (
    ANY_VERSION,
    NO_STREAM,
    ConcurrencyError,
    EventIdConflict,
    EventStore,
    NewEvent,
)
from tests.conftest import ProvisionedDatabase


def _append(db: Database, store: EventStore, stream: str, expected: int | None, *events: NewEvent):
    with db.write() as session:
        return store.append(session, stream_id=stream, expected_version=expected, events=events)


def _all(db: Database, store: EventStore):
    with db.read() as session:
        return store.read_all(session, after=0, limit=100_000)


def test_append_assigns_versions_and_dense_positions(database: Database, store: EventStore):
    first = _append(database, store, "actor-putin", NO_STREAM, NewEvent("A", {"n": 1}))
    second = _append(
        database, store, "actor-putin", 0, NewEvent("B", {"n": 2}), NewEvent("C", {"n": 3})
    )
    other = _append(database, store, "topic-war", NO_STREAM, NewEvent("D", {"n": 4}))

    assert (first.positions, first.stream_version) == ([1], 0)
    assert (second.positions, second.stream_version) == ([2, 3], 2)
    assert other.positions == [4]
    with database.read() as session:
        stream = store.read_stream(session, "actor-putin")
        tail = store.read_stream(session, "actor-putin", from_version=1)
        assert store.stream_version(session, "actor-putin") == 2
        assert store.stream_version(session, "actor-nobody") == NO_STREAM
        assert store.last_position(session) == 4
    assert [(e.version, e.type, e.data) for e in stream] == [
        (0, "A", {"n": 1}),
        (1, "B", {"n": 2}),
        (2, "C", {"n": 3}),
    ]
    assert [e.type for e in tail] == ["B", "C"]


def test_stale_expected_version_raises_and_writes_nothing(database: Database, store: EventStore):
    _append(database, store, "s", NO_STREAM, NewEvent("A", {}))
    _append(database, store, "s", 0, NewEvent("B", {}))

    with pytest.raises(ConcurrencyError) as raised:
        _append(database, store, "s", 0, NewEvent("C", {}), NewEvent("D", {}))

    assert (raised.value.expected_version, raised.value.actual_version) == (0, 1)
    assert [e.type for e in _all(database, store)] == ["A", "B"]
    with pytest.raises(ConcurrencyError):
        _append(database, store, "new-stream", 3, NewEvent("E", {}))
    assert len(_all(database, store)) == 2


def test_any_version_appends_at_the_end(database: Database, store: EventStore):
    _append(database, store, "s", ANY_VERSION, NewEvent("A", {}))
    result = _append(database, store, "s", ANY_VERSION, NewEvent("B", {}))
    assert result.stream_version == 1


def test_idempotent_reappend_returns_the_original_positions(database: Database, store: EventStore):
    events = [
        NewEvent("A", {"quote": "We recognize the sovereignty of Ukraine."}) for _ in range(2)
    ]
    original = _append(database, store, "s", NO_STREAM, *events)
    _append(database, store, "other", NO_STREAM, NewEvent("B", {}))

    retry = _append(database, store, "s", NO_STREAM, *events)

    assert retry.duplicate and not original.duplicate
    assert retry.positions == original.positions == [1, 2]
    assert len(_all(database, store)) == 3


def test_same_event_id_with_other_content_is_a_conflict(database: Database, store: EventStore):
    event_id = uuid.uuid4()
    _append(database, store, "s", NO_STREAM, NewEvent("A", {"stance": "supports"}, event_id))

    with pytest.raises(EventIdConflict):
        _append(database, store, "s", NO_STREAM, NewEvent("A", {"stance": "opposes"}, event_id))
    with pytest.raises(EventIdConflict):
        _append(
            database, store, "elsewhere", NO_STREAM, NewEvent("A", {"stance": "supports"}, event_id)
        )
    with pytest.raises(EventIdConflict):  # half of the batch stored, half not
        _append(
            database,
            store,
            "s",
            0,
            NewEvent("A", {"stance": "supports"}, event_id),
            NewEvent("B", {}),
        )
    assert [e.data for e in _all(database, store)] == [{"stance": "supports"}]


def test_default_event_ids_are_time_ordered_like_the_positions(
    database: Database, store: EventStore
):
    _append(database, store, "s", NO_STREAM, *[NewEvent("A", {"n": n}) for n in range(50)])
    _append(database, store, "t", NO_STREAM, NewEvent("B", {}))
    given = uuid.uuid4()
    _append(database, store, "u", NO_STREAM, NewEvent("C", {}, given))

    stored = _all(database, store)

    defaults = [e.event_id for e in stored[:-1]]
    assert all(event_id.version == 7 for event_id in defaults)
    assert defaults == sorted(defaults)  # position order is id order: appends hit one index page
    assert stored[-1].event_id == given  # a writer's own id is kept as it is


def test_an_append_may_not_repeat_an_event_id(database: Database, store: EventStore):
    event = NewEvent("A", {})
    with pytest.raises(ValueError):
        _append(database, store, "s", NO_STREAM, event, event)
    with pytest.raises(ValueError):
        _append(database, store, "s", NO_STREAM)
    assert _all(database, store) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET type = 'Forged'",
        "DELETE FROM events",
        "UPDATE events SET data = data WHERE position = 1",
    ],
)
def test_the_database_refuses_update_and_delete(
    test_db: ProvisionedDatabase, database: Database, store: EventStore, statement: str
):
    _append(database, store, "s", NO_STREAM, NewEvent("A", {"n": 1}))

    with pytest.raises(DBAPIError, match="append-only"), test_db.engine.begin() as connection:
        connection.execute(text(statement))

    assert [(e.type, e.data) for e in _all(database, store)] == [("A", {"n": 1})]


def test_postgres_refuses_truncate(make_database):
    test_db = make_database("postgresql")
    with pytest.raises(DBAPIError, match="append-only"), test_db.engine.begin() as connection:
        connection.execute(text("TRUNCATE events"))


def test_read_all_pages_in_position_order_and_filters_by_type(
    database: Database, store: EventStore
):
    for n in range(25):
        _append(
            database,
            store,
            f"s-{n % 3}",
            ANY_VERSION,
            NewEvent("Even" if n % 2 == 0 else "Odd", {"n": n}),
        )

    pages, after = [], 0
    with database.read() as session:
        while page := store.read_all(session, after=after, limit=10):
            pages.append(page)
            after = page[-1].position
        odd = store.read_all(session, types=["Odd"], limit=100)
        none = store.read_all(session, types=["Missing"])

    assert [len(p) for p in pages] == [10, 10, 5]
    assert [e.data["n"] for p in pages for e in p] == list(range(25))
    assert [e.position for p in pages for e in p] == list(range(1, 26))
    assert [e.data["n"] for e in odd] == list(range(1, 25, 2))
    assert none == []


def test_recorded_at_is_utc_and_never_decreases(database: Database, store: EventStore):
    before = datetime.now(UTC)
    for _ in range(20):
        _append(database, store, "s", ANY_VERSION, NewEvent("A", {}))
    events = _all(database, store)

    times = [e.recorded_at for e in events]
    assert all(t.utcoffset() == timedelta(0) for t in times)
    assert times == sorted(times)
    assert before - timedelta(seconds=1) <= times[0] <= datetime.now(UTC)


def test_recorded_at_does_not_run_backwards_when_the_clock_does(
    test_db: ProvisionedDatabase, database: Database, store: EventStore
):
    future = datetime.now(UTC) + timedelta(hours=1)
    _append(database, store, "s", NO_STREAM, NewEvent("A", {}))
    # Simulate a clock that was ahead: the triggers forbid editing, so write a row as another
    # process with a fast clock would have (a fresh table with a copied row is not the same test).
    with test_db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO events (position, event_id, stream_id, version, type, schema_version,"
                " data, metadata, recorded_at) VALUES (2, :id, 's', 1, 'B', 1, '{}', '{}', :at)"
            ),
            {
                "id": uuid.uuid4().hex if test_db.backend == "sqlite" else uuid.uuid4(),
                "at": future
                if test_db.backend != "sqlite"
                else future.replace(tzinfo=None).isoformat(sep=" "),
            },
        )
    third = _append(database, store, "s", 1, NewEvent("C", {}))
    assert third.recorded_at is not None and third.recorded_at >= future


def test_old_schema_versions_are_upcast_on_read(database: Database):
    old_store = EventStore(UpcasterRegistry())
    _append(
        database,
        old_store,
        "statement-1",
        NO_STREAM,
        NewEvent("StatementRecorded", {"url": "https://example.org/a"}),
    )

    registry = UpcasterRegistry()
    registry.register("StatementRecorded", 1, lambda d: {"source": {"url": d.pop("url")}, **d})
    registry.register("StatementRecorded", 2, lambda d: {**d, "kind": "paraphrase"})
    new_store = EventStore(registry)
    with database.write() as session:
        new_store.append(
            session,
            stream_id="statement-2",
            expected_version=NO_STREAM,
            events=[
                NewEvent(
                    "StatementRecorded",
                    {"source": {"url": "https://example.org/b"}, "kind": "vote"},
                )
            ],
        )

    with database.read() as session:
        read = new_store.read_all(session)
        stream = new_store.read_stream(session, "statement-1")
        stored = (
            session.connection()
            .execute(text("SELECT schema_version, data FROM events ORDER BY position"))
            .all()
        )
    assert [(e.schema_version, e.data) for e in read] == [
        (3, {"source": {"url": "https://example.org/a"}, "kind": "paraphrase"}),
        (3, {"source": {"url": "https://example.org/b"}, "kind": "vote"}),
    ]
    assert stream[0].data == read[0].data
    # the stored payloads are untouched: upcasting happens on read only
    assert [(v, d if isinstance(d, dict) else json.loads(d)) for v, d in stored] == [
        (1, {"url": "https://example.org/a"}),
        (3, {"source": {"url": "https://example.org/b"}, "kind": "vote"}),
    ]
    with pytest.raises(UpcastError), database.read() as session:  # old code, newer event
        old_store.read_all(session)


def test_recorded_at_comes_back_in_datetime_utc(database: Database, store: EventStore):
    appended = _append(database, store, "s", NO_STREAM, NewEvent("A", {}), NewEvent("B", {}))
    with database.read() as session:
        read = store.read_all(session) + store.read_stream(session, "s")
        by_id = store.read_by_ids(session, [e.event_id for e in read])

    assert appended.recorded_at is not None and appended.recorded_at.tzinfo is UTC
    assert all(e.recorded_at.tzinfo is UTC for e in read + by_id)


def test_payloads_are_stored_as_json_the_database_can_query(
    test_db: ProvisionedDatabase, database: Database, store: EventStore
):
    _append(
        database,
        store,
        "s",
        NO_STREAM,
        NewEvent("A", {"quote": "né", "n": 2}, metadata={"by": "cli"}),
    )
    extract = (
        "SELECT json_extract(data, '$.quote'), json_extract(metadata, '$.by') FROM events"
        if test_db.backend == "sqlite"
        else "SELECT data ->> 'quote', metadata ->> 'by' FROM events"
    )
    with test_db.engine.connect() as connection:
        assert connection.execute(text(extract)).one() == ("né", "cli")


def test_quotes_backslashes_and_non_ascii_survive_the_append_as_written(
    database: Database, store: EventStore
):
    # PostgreSQL appends send the stream and the batch as escaped literals, not bound parameters.
    data = {"quote": "l'État, c'est \\moi\\ \"vraiment\" \u2014 \U0001f600", "e": "E'\\x'"}
    stream = "statement-o'brien\\ü"
    _append(database, store, stream, NO_STREAM, NewEvent("A", data, metadata={"by": "O'Neil"}))
    [event] = _all(database, store)
    assert (event.stream_id, event.data, event.metadata) == (stream, data, {"by": "O'Neil"})


def test_a_refused_first_append_leaves_the_next_transaction_usable(
    make_database, store: EventStore
):
    # The append that begins its transaction fails in the database (the stream id column holds
    # 200 characters, which SQLite does not enforce): the error is the driver's, the transaction
    # rolls back, and the pooled connection appends again.
    database = Database(make_database("postgresql").engine)
    with pytest.raises(psycopg.errors.StringDataRightTruncation), database.write() as session:
        store.append(
            session, stream_id="s" * 201, expected_version=NO_STREAM, events=[NewEvent("A", {})]
        )
    _append(database, store, "s", NO_STREAM, NewEvent("A", {}))
    assert [event.position for event in _all(database, store)] == [1]


def test_appends_only_probe_indexes_however_young_the_log(make_database, store: EventStore):
    # PL/pgSQL keeps a statement's plan for the life of the connection; a plan made while the table
    # was small must not be a sequential scan that every later append would then pay for.
    database = Database(make_database("postgresql").engine)
    scans = text(
        "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relid = 'events'::regclass"
    )
    with database.write() as session:
        before = session.connection().execute(scans).one()
        for n in range(20):
            batch = [NewEvent("A", {"n": n}) for _ in range(1 + n % 3)]
            store.append(
                session, stream_id=f"s-{n % 4}", expected_version=ANY_VERSION, events=batch
            )
        with pytest.raises(ConcurrencyError):
            store.append(session, stream_id="s-0", expected_version=0, events=[NewEvent("A", {})])
        after = session.connection().execute(scans).one()
    # the counters include what this connection did before (the migration's index builds)
    assert after.seq_scan == before.seq_scan
    assert after.idx_scan > before.idx_scan


def test_a_writer_that_cannot_get_the_sqlite_lock_gets_a_sqlalchemy_error(
    make_database, store: EventStore
):
    test_db = make_database("sqlite")
    first = Database(test_db.engine)
    second = Database(create_db_engine(test_db.url, busy_timeout_ms=50))
    try:
        with first.write() as session:
            store.append(
                session, stream_id="s", expected_version=NO_STREAM, events=[NewEvent("A", {})]
            )
            with pytest.raises(OperationalError, match="locked"), second.write() as other:
                other.connection()
    finally:
        second.dispose()
    assert len(_all(first, store)) == 1
