"""The rebuild's replay on SQLite and PostgreSQL: the rows it writes are the rows catching up
wrote; it reads the log upcast; ``verify`` reports what differs; PostgreSQL's swaps in new tables
as the models describe them."""

import dataclasses
import logging
import os
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text, update

from service.commands import UPCASTERS
from service.db import Database
from service.domain.commands import (
    ApproveStatement,
    CorrectStatement,
    RejectStatement,
    RetractStatement,
    UpdateActor,
    UpdateTopic,
)
from service.domain.upcasting import UpcasterRegistry
from service.domain.values import Source
from service.projections import fold_process, forked, rebuild, shares
from service.projections.runner import Projector
from service.projections.shares import SLOTS, Share, Split
from service.store.event_store import EventStore
from service.store.read_model_tables import ReadModelTables
from service.store.schema import include_object, target_metadata
from tests.integration.helpers import record_numbered, services_for, two_actors_one_topic

BASE = datetime(2023, 1, 1, tzinfo=UTC)
SOURCE = Source(url="https://example.org/r", title="R", publisher="Wire", published_at=None)
STANCES = ["opposes", "leans_opposes", "neutral", "leans_supports", "supports"]


def _history(database: Database) -> Projector:
    """Statements on two pairs with equal and out-of-order stated_at, then every later kind of
    event, the catalog's updates included; the projector catches up after each write, in
    batches of two. Its rebuilds run in this process (what a forked child logs, ``caplog``
    would not see), but where a test asks for a child (``_in_a_child``)."""
    services = services_for(database, min_confidence=0.5)
    services.bus.after_write = []
    projector = Projector(database, services.store, batch_size=2, replay_in_child=False)
    two_actors_one_topic(services, "UZ")
    ids = [uuid.uuid4() for _ in range(12)]
    days = [5, 1, 5, 9, 3, 5, 0, 7, 7, 2, 11, 4]
    for n, statement_id in enumerate(ids):
        record_numbered(
            services,
            statement_id,
            n,
            stance=STANCES[(n * 3) % 5],
            stated_at=BASE + timedelta(days=days[n]),
            source=SOURCE,
            confidence=0.3 if n in (4, 9) else 0.9,
        )
        projector.catch_up()
    later = [
        ApproveStatement(ids[4]),
        RejectStatement(ids[9], reason="not said"),
        CorrectStatement(ids[0], reason="misread", stance="supports"),
        CorrectStatement(ids[1], reason="date", stated_at=BASE + timedelta(days=5)),
        CorrectStatement(ids[2], reason="speaker", actor_id="a2"),
        CorrectStatement(
            ids[3], reason="source", source=Source("https://example.org/s", "S", "Wire", None)
        ),
        RetractStatement(ids[5], reason="misattributed"),
        CorrectStatement(ids[6], reason="date", stated_at=BASE + timedelta(days=12)),
        UpdateActor("a1", role="Foreign Minister", aliases=["A. One"]),
        UpdateTopic("t1", title="T one", keywords=["one"]),
        UpdateActor("a1", country=None),
    ]
    for command in later:
        services.bus.execute(command)
        projector.catch_up()
    return projector


def _tables(database: Database) -> dict[str, set[tuple[Any, ...]]]:
    found = {}
    with database.read() as session:
        connection = session.connection()
        for table in ReadModelTables.live().all():
            rows = connection.execute(select(table))
            found[table.name] = {tuple(map(_hashable, row)) for row in rows}
    return found


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def test_a_rebuild_writes_the_rows_catching_up_wrote(database: Database):
    projector = _history(database)
    caught_up = _tables(database)
    assert len(caught_up["stance_intervals"]) > 12 and caught_up["stance_changes"]

    assert projector.rebuild() == projector.position()

    assert _tables(database) == caught_up
    assert projector.verify() == []
    if database.is_sqlite:  # the rebuild's cache and sorter settings go with its connection
        with database.engine.connect() as connection:
            sizes = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            threads = connection.exec_driver_sql("PRAGMA threads").scalar()
        assert (sizes, threads) == (-2000, 0)


@pytest.mark.parametrize(("read_batch", "settle_events"), [(3, 1), (5, 7), (1, 4)])
def test_a_rebuild_settled_in_many_steps_writes_the_same_rows(
    database: Database, monkeypatch: pytest.MonkeyPatch, read_batch: int, settle_events: int
):
    """A log longer than one settling: the pairs' timelines, open rectangles and current
    stances carry over from one settling to the next, whatever the reads' boundaries."""
    projector = _history(database)
    caught_up = _tables(database)
    monkeypatch.setattr(rebuild, "READ_BATCH", read_batch)
    monkeypatch.setattr(rebuild, "SETTLE_EVENTS", settle_events)

    assert projector.rebuild() == projector.position()

    assert _tables(database) == caught_up
    assert projector.verify() == []


def _split_between_the_two_pairs() -> Split:
    """A split that gives pair (a1, t1) to one process and (a2, t1) to the other, whichever
    slots their digests give them, from the first event on."""
    low, high = sorted(shares.slot((actor, "t1")) for actor in ("a1", "a2"))
    assert low < high, "the history's two pairs need slots of their own"
    return Split(processes=2, from_events=0, at=high)


def test_a_rebuild_split_between_two_processes_writes_the_same_rows(
    database: Database, caplog: pytest.LogCaptureFixture
):
    """Each pair folded by another process, one of them through its own connection; the
    history's corrections move a statement from one pair, and so one process, to the other."""
    projector = _history(database)
    caught_up = _tables(database)
    projector.rebuild_split = _split_between_the_two_pairs()

    with caplog.at_level(logging.INFO, logger=fold_process.__name__):
        assert projector.rebuild() == projector.position()
        assert _tables(database) == caught_up
        assert projector.verify() == []

    assert caplog.text.count("a second process folds the pairs of slots") == 2
    assert "failed" not in caplog.text


def test_a_second_process_that_fails_leaves_its_share_to_the_first(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The second process exits at once without a word (its interpreter is ``false``): the
    replay says so in the log and folds that share itself, with the same rows."""
    projector = _history(database)
    caught_up = _tables(database)
    projector.rebuild_split = _split_between_the_two_pairs()
    monkeypatch.setattr(sys, "executable", "/bin/false")

    with caplog.at_level(logging.WARNING, logger=fold_process.__name__):
        assert projector.rebuild() == projector.position()

    assert _tables(database) == caught_up
    assert "the second fold process failed (exit status 1)" in caplog.text


def test_a_second_process_that_cannot_read_the_log_fails_cleanly(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
):
    """A database without a log: the process fails on its first read; ``result`` reports it
    and returns nothing rather than raising or waiting."""
    job = fold_process.Job(f"sqlite:///{tmp_path / 'empty.db'}", 10, Share(0, SLOTS), UPCASTERS)
    helper = fold_process.Helper(job, others=Share(0, 0))
    try:
        with caplog.at_level(logging.WARNING, logger=fold_process.__name__):
            assert helper.result() is None
    finally:
        helper.close()
    assert "the second fold process failed (exit status 1)" in caplog.text


def test_a_job_that_cannot_be_sent_is_folded_in_one_process(
    database: Database, caplog: pytest.LogCaptureFixture
):
    """Upcasters that are not module functions cannot be sent to another process: the replay
    folds every pair itself, with the same rows."""
    projector = _history(database)
    caught_up = _tables(database)
    registry = UpcasterRegistry()
    registry.register("NeverWritten", 1, lambda data: data)
    projector.store = EventStore(registry)
    projector.rebuild_split = _split_between_the_two_pairs()

    with caplog.at_level(logging.WARNING, logger=fold_process.__name__):
        assert projector.rebuild() == projector.position()

    assert _tables(database) == caught_up
    assert "no second fold process" in caplog.text


def _forked_split() -> Split:
    """``_split_between_the_two_pairs``, its second process forked once the log is read."""
    return dataclasses.replace(_split_between_the_two_pairs(), forked=True)


def test_a_rebuild_split_with_a_forked_process_writes_the_same_rows(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """Each pair settled by another process, one of them a child forked from this one once the
    log is read; the history's corrections move a statement from one pair, and so one
    process, to the other. The test runner has threads of its own, which would rule a fork
    out: the child touches none of what they hold."""
    projector = _history(database)
    caught_up = _tables(database)
    projector.rebuild_split = _forked_split()
    monkeypatch.setattr(forked, "may_fork", lambda: True)

    with caplog.at_level(logging.INFO):
        assert projector.rebuild() == projector.position()
        assert _tables(database) == caught_up
        assert projector.verify() == []

    assert caplog.text.count("a forked process settles the pairs of slots") == 2
    assert "a second process folds" not in caplog.text
    assert "failed" not in caplog.text


def test_a_forked_process_that_fails_leaves_its_share_to_the_parent(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The child fails before it sends its rows (only the child encodes a share): the replay
    says so in the log and settles that share itself, with the same rows."""
    projector = _history(database)
    caught_up = _tables(database)
    projector.rebuild_split = _forked_split()
    monkeypatch.setattr(forked, "may_fork", lambda: True)

    def broken(*_args: Any) -> Any:
        raise RuntimeError("no rows from this child")

    monkeypatch.setattr(rebuild, "share_rows", broken)

    with caplog.at_level(logging.WARNING, logger=forked.__name__):
        assert projector.rebuild() == projector.position()

    assert _tables(database) == caught_up
    assert "the forked process that settles the pairs of slots" in caplog.text
    assert "failed (raised RuntimeError: no rows from this child)" in caplog.text


def test_a_process_with_other_threads_settles_every_pair_itself(
    database: Database, caplog: pytest.LogCaptureFixture
):
    """A fork is not safe beside another thread (a server's projector runs among several): the
    replay neither forks nor starts a process, and its rows are the same."""
    projector = _history(database)
    caught_up = _tables(database)
    projector.rebuild_split = _forked_split()
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        with caplog.at_level(logging.INFO):
            assert projector.rebuild() == projector.position()
    finally:
        release.set()
        other.join()

    assert _tables(database) == caught_up
    assert "no forked process (other threads run here)" in caplog.text
    assert "a forked process settles" not in caplog.text
    assert "a second process folds" not in caplog.text


def _tamper_with_a_rectangle(database: Database) -> None:
    intervals = ReadModelTables.live().stance_intervals
    with database.write() as session:
        session.connection().execute(
            update(intervals)
            .where(
                intervals.c.interval_id
                == select(intervals.c.interval_id).limit(1).scalar_subquery()
            )
            .values(previous_stance="tampered")
        )


def test_verify_reports_a_row_the_replay_would_not_write(database: Database):
    projector = _history(database)
    _tamper_with_a_rectangle(database)

    differences = projector.verify()

    assert [(d.table, d.only_live, d.only_rebuilt) for d in differences] == [
        ("stance_intervals", 1, 1)
    ]
    assert "tampered" in differences[0].example


def test_a_verify_in_a_forked_child_reports_what_differs(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The differences come back from the child (the replay fails in this process), the live
    tables as they were: a verify writes nothing."""
    projector = _history(database)
    _tamper_with_a_rectangle(database)
    tampered = _tables(database)
    _in_a_child(projector, monkeypatch)

    with caplog.at_level(logging.INFO):
        differences = projector.verify()

    assert "a forked process verifies the read models" in caplog.text
    assert [(d.table, d.only_live, d.only_rebuilt) for d in differences] == [
        ("stance_intervals", 1, 1)
    ]
    assert "tampered" in differences[0].example
    assert _tables(database) == tampered


def test_a_rebuild_reads_the_log_upcast(database: Database):
    """Events stored under an older schema version reach the read models as the store's readers
    see them."""
    _history(database)
    registry = UpcasterRegistry()
    registry.register("StatementRecorded", 1, lambda data: {**data, "quote": data["quote"] + "!"})
    projector = Projector(database, EventStore(registry))

    projector.rebuild()

    versions = ReadModelTables.live().statement_versions
    with database.read() as session:
        quotes = session.connection().execute(select(versions.c.quote)).scalars().all()
    assert quotes and all(quote.endswith("!") for quote in quotes)
    assert projector.verify() == []


_REPLAY = rebuild.replay


def _in_a_child(
    projector: Projector, monkeypatch: pytest.MonkeyPatch, *, replays_in: str = "the child"
) -> None:
    """Rebuilds of ``projector`` in a forked child from now on, the replay made to fail in the
    other process than ``replays_in`` ("the child" or "the parent")."""
    projector.replay_in_child = True
    monkeypatch.setattr(forked, "may_fork", lambda: True)
    parent = os.getpid()

    def replay_in_one_process(*args: Any, **kwargs: Any) -> Any:
        if (os.getpid() == parent) != (replays_in == "the parent"):
            raise RuntimeError(f"replayed outside {replays_in}")
        return _REPLAY(*args, **kwargs)

    monkeypatch.setattr(rebuild, "replay", replay_in_one_process)


def test_a_rebuild_in_a_forked_child_writes_the_rows_catching_up_wrote(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The replay fails in this process, so the rows are the child's: it mends a tampered
    rectangle, so it committed. It rebuilds on connections of its own and leaves this
    process's pool as it was: the tables are read back through it afterwards, and a write goes
    on through it."""
    projector = _history(database)
    caught_up = _tables(database)
    _tamper_with_a_rectangle(database)
    assert _tables(database) != caught_up
    _in_a_child(projector, monkeypatch)

    with caplog.at_level(logging.INFO):
        assert projector.rebuild() == projector.position()

    assert "a forked process rebuilds the read models" in caplog.text
    assert "failed" not in caplog.text
    assert _tables(database) == caught_up
    services = services_for(database)
    services.bus.after_write = []
    services.bus.execute(RetractStatement(_a_counting_statement(database), reason="withdrawn"))
    assert projector.catch_up() == 1


def _a_counting_statement(database: Database) -> uuid.UUID:
    versions = ReadModelTables.live().statement_versions
    with database.read() as session:
        query = select(versions.c.statement_id).where(versions.c.counts).limit(1)
        return uuid.UUID(str(session.connection().execute(query).scalar_one()))


def test_a_rebuild_whose_child_fails_is_done_in_this_process(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The child fails before it commits (its replay raises): this process says so and
    rebuilds itself, with the same rows."""
    projector = _history(database)
    caught_up = _tables(database)
    _in_a_child(projector, monkeypatch, replays_in="the parent")

    with caplog.at_level(logging.WARNING):
        assert projector.rebuild() == projector.position()

    assert (
        "the forked process that rebuilds the read models failed "
        "(raised RuntimeError: replayed outside the parent)"
    ) in caplog.text
    assert "rebuilding the read models in this process instead" in caplog.text
    assert _tables(database) == caught_up


_HERE = "relnamespace = current_schema()::regnamespace"
"""This test's schema only: others in the same database (tests run side by side) have tables of
the same names."""


def test_a_rebuild_on_postgresql_swaps_in_new_tables_as_the_models_describe(make_database: Any):
    """PostgreSQL rebuilds into new tables and swaps them in: afterwards the schema is exactly
    the models' (names of tables, indexes and keys included), nothing of the build is left, and
    the new tables hold no dead rows and are all-visible, so a replay's probe is index-only
    at once. (SQLite rebuilds in place and reuses freed pages.)"""
    database = Database(make_database("postgresql").engine)
    projector = _history(database)
    before = _tables(database)
    projector.rebuild()
    projector.rebuild()
    assert _tables(database) == before
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        assert compare_metadata(context, target_metadata) == []
        leftovers = connection.execute(
            text(f"SELECT relname FROM pg_class WHERE relname LIKE 'rebuilt%' AND {_HERE}")
        ).all()
        visibility = connection.execute(
            text(
                "SELECT relpages, relallvisible, pg_stat_get_dead_tuples(oid) FROM pg_class "
                f"WHERE relname = 'stance_intervals' AND {_HERE}"
            )
        ).one()
    assert leftovers == []
    pages, all_visible, dead = visibility
    assert pages > 0 and all_visible == pages and dead == 0


def test_a_rebuild_on_postgresql_first_analyses_a_log_without_statistics(make_database: Any):
    """A log never analysed (a fresh database, a bulk import) is analysed before the replay
    reads it, or each page of the read is planned as a scan of the rest of the log."""
    database = Database(make_database("postgresql").engine)
    projector = _history(database)
    statistics = text(
        "SELECT count(*) FROM pg_stats WHERE tablename = 'events' AND schemaname = current_schema()"
    )
    with database.engine.connect() as connection:
        assert connection.execute(statistics).scalar() == 0
    projector.rebuild()
    with database.engine.connect() as connection:
        assert connection.execute(statistics).scalar() > 0
