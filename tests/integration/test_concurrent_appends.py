"""Concurrent writers and a tailing reader: the reader sees every committed event exactly once.

This is the test of the store's ordering guarantee (see ``service.store.event_store``): writers on
their own connections commit in whatever order the scheduler gives them, some fighting over shared
streams with retries, while a reader tails ``read_all`` with nothing but a cursor.
"""

import random
import threading
import uuid

import pytest

from service.db import Database
from service.store.event_store import ConcurrencyError, EventStore, NewEvent

WRITERS = 8
APPENDS_PER_WRITER = 500
SHARED_STREAMS = 4


def _writer(database: Database, store: EventStore, index: int, acknowledged: list, errors: list):
    rng = random.Random(index)
    own_version = -1
    try:
        for n in range(APPENDS_PER_WRITER):
            event = NewEvent("Appended", {"writer": index, "n": n})
            if rng.random() < 0.3:  # a shared stream: read its version, append, retry on conflict
                stream = f"shared-{rng.randrange(SHARED_STREAMS)}"
                while True:
                    try:
                        with database.write() as session:
                            expected = store.stream_version(session, stream)
                            store.append(
                                session, stream_id=stream, expected_version=expected, events=[event]
                            )
                        break
                    except ConcurrencyError:
                        continue
            else:
                with database.write() as session:
                    result = store.append(
                        session,
                        stream_id=f"writer-{index}",
                        expected_version=own_version,
                        events=[event],
                    )
                own_version = result.stream_version
            acknowledged.append(event.event_id)
    except Exception as error:  # surfaced by the test thread
        errors.append(error)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_tailing_reader_sees_every_event_once_in_order(make_database, backend: str):
    test_db = make_database(backend)
    store = EventStore()
    acknowledged: list[uuid.UUID] = []
    errors: list[Exception] = []
    engines = [test_db.new_engine() for _ in range(WRITERS + 1)]
    writers = [
        threading.Thread(
            target=_writer, args=(Database(engines[i]), store, i, acknowledged, errors)
        )
        for i in range(WRITERS)
    ]
    reader_db = Database(engines[-1])
    seen = []
    cursor = 0
    for thread in writers:
        thread.start()
    try:
        while any(t.is_alive() for t in writers):
            with reader_db.read() as session:
                page = store.read_all(session, after=cursor, limit=200)
            if page:
                seen.extend(page)
                cursor = page[-1].position
        while True:  # drain what was committed after the last read
            with reader_db.read() as session:
                page = store.read_all(session, after=cursor, limit=200)
            if not page:
                break
            seen.extend(page)
            cursor = page[-1].position
    finally:
        for thread in writers:
            thread.join()
        for engine in engines:
            engine.dispose()

    assert errors == []
    total = WRITERS * APPENDS_PER_WRITER
    assert len(acknowledged) == total
    positions = [e.position for e in seen]
    assert positions == list(range(1, total + 1)), "a gap or a repeat in what the reader saw"
    assert len({e.event_id for e in seen}) == total
    assert {e.event_id for e in seen} == set(acknowledged)
    stream_versions = [(e.stream_id, e.version) for e in seen]
    assert len(set(stream_versions)) == total
    by_stream: dict[str, list[int]] = {}
    for stream_id, version in stream_versions:
        by_stream.setdefault(stream_id, []).append(version)
    for stream_id, versions in by_stream.items():
        assert versions == list(range(len(versions))), f"{stream_id} versions out of order"
    assert sum(len(v) for k, v in by_stream.items() if k.startswith("shared-")) > 0
