"""The demo data set through the real write side and projections, on SQLite and PostgreSQL."""

import gc
import importlib
import sys
import threading
from datetime import UTC, datetime

from service.db import Database
from service.demo.loader import load_demo
from service.queries import current_stances, stance, stance_history, stances
from tests.integration.helpers import services_for

JAN_1_2022 = datetime(2022, 1, 1, 23, 59, 59, tzinfo=UTC)


def _matrix(database: Database, **when) -> dict[tuple[str, str], str]:
    with database.read() as session:
        return {(s.actor_id, s.topic_id): s.stance for s in stances(session.connection(), **when)}


def test_demo_stances_before_and_after_the_corrections(database: Database):
    services = services_for(database)
    report = load_demo(services.bus)
    assert report.appended > 30 and report.already_stored == 0
    assert report.article_known_at is not None and report.corrected_at is not None
    assert report.article_known_at < report.corrected_at

    now = _matrix(database)
    assert now[("lukashenko", "war-justified")] == "supports"
    assert now[("kamilov", "ukraine-sovereignty")] == "supports"
    assert ("mirziyoyev", "ukraine-sovereignty") not in now

    as_published = _matrix(database, known_at=report.article_known_at)
    assert as_published[("mirziyoyev", "ukraine-sovereignty")] == "supports"
    assert ("kamilov", "ukraine-sovereignty") not in as_published

    with database.read() as session:
        last = services.store.read_all(session, after=services.store.last_position(session) - 1)
    corrected = _matrix(database, known_at=last[0].recorded_at)
    assert ("mirziyoyev", "ukraine-sovereignty") not in corrected
    assert corrected[("kamilov", "ukraine-sovereignty")] == "supports"


def test_replay_as_of_a_date_hides_what_was_said_later(database: Database):
    services = services_for(database)
    load_demo(services.bus)
    with database.read() as session:
        connection = session.connection()
        early = stances(connection, as_of=JAN_1_2022)
        all_now = current_stances(connection)
    assert all(s.since <= JAN_1_2022 for s in early)
    assert ("lukashenko", "war-justified") not in {(s.actor_id, s.topic_id) for s in early}
    assert any(s.since > JAN_1_2022 for s in all_now)


def test_one_stance_carries_the_statement_behind_it(database: Database):
    services = services_for(database)
    load_demo(services.bus)
    with database.read() as session:
        found = stance(session.connection(), "kamilov", "ukraine-sovereignty")
        history = stance_history(session.connection(), "kamilov", "ukraine-sovereignty")
        moved = stance_history(session.connection(), "mirziyoyev", "ukraine-sovereignty")
    assert found is not None and found.stance == "supports"
    assert found.statement.stated_at == datetime(2022, 3, 17, tzinfo=UTC)
    assert "sovereignty" in found.statement.quote
    assert found.statement.source["url"].startswith("https://")
    assert [(c.from_stance, c.to_stance) for c in history] == [(None, "supports")]
    assert [(c.from_stance, c.to_stance) for c in moved] == [(None, "supports"), ("supports", None)]
    assert moved[-1].event_type == "StatementCorrected"


def test_loading_the_demo_twice_appends_nothing(database: Database):
    services = services_for(database)
    load_demo(services.bus)
    with database.read() as session:
        before = services.store.last_position(session)
    again = load_demo(services.bus)
    with database.read() as session:
        after = services.store.last_position(session)
    assert again.appended == 0 and again.already_stored > 30
    assert after == before
    assert services.projector.verify() == []


def test_a_matrix_larger_than_the_cell_cache_is_read_whole(database: Database, monkeypatch):
    """When a matrix's new cells would overflow the cell cache, it is emptied and the whole
    matrix read again: the cells it held for this matrix must not go missing."""
    cache = importlib.import_module("service.queries.stances")
    load_demo(services_for(database).bus)
    with database.read() as session:
        connection = session.connection()
        expected = stances(connection, as_of=JAN_1_2022)
        cache._CELLS.clear()
        monkeypatch.setattr(cache, "_CELLS_MAX", len(expected) + 1)
        monkeypatch.setattr(cache, "_MATRICES", {})  # each matrix built from its cells
        monkeypatch.setattr(cache, "_MATRICES_MAX", 1)
        assert stances(connection, as_of=JAN_1_2022) == expected
        assert len(cache._CELLS) == len(expected)
        later = stances(connection, as_of=datetime(2023, 1, 1, tzinfo=UTC))
        assert len(cache._CELLS) == len(later)  # emptied, then this matrix's cells only
        assert stances(connection, as_of=JAN_1_2022) == expected
        assert [(s.actor_id, s.topic_id) for s in later] == sorted(
            (s.actor_id, s.topic_id) for s in later
        )


LATER = datetime(2023, 1, 1, tzinfo=UTC)


def test_a_matrix_asked_again_is_the_same_and_its_own(database: Database):
    """A matrix asked again comes assembled from the last ones, equal to the first answer, in a
    list the caller may change without changing the next answer."""
    cache = importlib.import_module("service.queries.stances")
    load_demo(services_for(database).bus)
    with database.read() as session:
        connection = session.connection()
        cache._MATRICES.clear()
        first = stances(connection, as_of=LATER)
        assert len(first) > 10 and len(cache._MATRICES) == 1
        kept = list(first)
        first.clear()
        again = stances(connection, as_of=LATER)  # assembled before
        assert again == kept
        again.clear()
        assert stances(connection, as_of=LATER) == kept
        assert len(cache._MATRICES) == 1


def test_cells_are_built_with_the_collector_paused_and_it_resumes(database: Database, monkeypatch):
    """A matrix's new cells are built with the cyclic collector paused (they hold no cycles),
    and the collector runs again once they are built; cells found built need no pause."""
    cache = importlib.import_module("service.queries.stances")
    load_demo(services_for(database).bus)
    seen: list[bool] = []
    build_cell = cache._cell

    def watched(values, row):
        seen.append(gc.isenabled())
        return build_cell(values, row)

    monkeypatch.setattr(cache, "_cell", watched)
    monkeypatch.setattr(cache, "_MATRICES", {})
    cache._new_caches()
    assert gc.isenabled()
    with database.read() as session:
        built = stances(session.connection(), as_of=LATER)
        assert gc.isenabled()
        assert len(seen) == len(built) > 10 and not any(seen)
        seen.clear()
        cache._MATRICES.clear()
        assert stances(session.connection(), as_of=LATER) == built
    assert seen == []  # every cell came from the cache


def test_replays_in_threads_overflowing_the_cell_cache_stay_whole(database: Database, monkeypatch):
    """Replays of different moments in several threads taking turns every few bytecodes, each
    emptying a cell cache too small for two matrices: every answer is its moment's whole matrix,
    and no replay fails."""
    cache = importlib.import_module("service.queries.stances")
    load_demo(services_for(database).bus)
    moments = [JAN_1_2022, LATER, datetime(2022, 3, 1, tzinfo=UTC), None]
    with database.read() as session:
        expected = {m: stances(session.connection(), as_of=m) for m in moments}
    largest = max(len(matrix) for matrix in expected.values())
    monkeypatch.setattr(cache, "_CELLS_MAX", largest + 1)
    monkeypatch.setattr(cache, "_MATRICES_MAX", 1)
    monkeypatch.setattr(cache, "_MATRICES", {})
    failures: list[BaseException] = []

    def replay(offset: int) -> None:
        try:
            with database.read() as session:
                for n in range(40):
                    moment = moments[(n + offset) % len(moments)]
                    assert stances(session.connection(), as_of=moment) == expected[moment]
        except BaseException as error:  # reported by the test's thread
            failures.append(error)

    threads = [threading.Thread(target=replay, args=(offset,)) for offset in range(3)]
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns every few bytecodes, not every 5 ms
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(switching)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


def test_a_replay_keeps_the_cells_it_found_when_another_empties_the_cache(
    database: Database, monkeypatch
):
    """Another replay emptying the cell cache while this one reads its missing cells (as one in
    another thread may, at the worst moment) takes nothing from this one: the caches are
    replaced, not cleared, and this replay goes on with the ones it found its cells in."""
    cache = importlib.import_module("service.queries.stances")
    load_demo(services_for(database).bus)
    monkeypatch.setattr(cache, "_MATRICES", {})
    cache._new_caches()
    with database.read() as session:
        connection = session.connection()
        expected = stances(connection, as_of=LATER)
        cache._MATRICES.clear()
        one = next(iter(cache._CELLS))
        del cache._CELLS[one]  # the next replay finds all its cells built but this one
        build = cache._build

        def emptied_meanwhile(*args):
            cache._new_caches()
            build(*args)

        monkeypatch.setattr(cache, "_build", emptied_meanwhile)
        assert stances(connection, as_of=LATER) == expected
