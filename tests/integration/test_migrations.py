"""Alembic on both backends: upgrade, downgrade, upgrade again; the schema matches the models."""

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from service.db import Database
from service.demo.loader import load_demo
from service.domain.commands import RetractStatement
from service.projections.checkpoints import clear_rebuild_marker, rebuild_required
from service.queries import stances
from service.store import migrate
from service.store.schema import include_object, target_metadata
from tests.integration.helpers import services_for


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_downgrade_upgrade_round_trip(make_database, backend: str):
    test_db = make_database(backend, migrated=False)
    engine = test_db.engine

    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    assert {"events", "projection_checkpoints"} <= set(inspect(engine).get_table_names())

    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    assert "events" in inspect(engine).get_table_names()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_models_match_the_migrated_schema(make_database, backend: str):
    engine = make_database(backend).engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        differences = compare_metadata(context, target_metadata)
    assert differences == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrading_a_database_with_history_fills_the_stance_intervals(make_database, backend):
    """0008 adds a read model only the stored history can fill: the first catch-up after the
    upgrade rebuilds, so replays never answer from a half-filled table, and nothing is announced
    to the webhooks again."""
    database = Database(make_database(backend).engine)
    services = services_for(database)
    report = load_demo(services.bus)
    as_published = _replay(database, known_at=report.article_known_at)
    assert as_published[("mirziyoyev", "ukraine-sovereignty")] == "supports"

    migrate.downgrade(database.engine, "0007")
    migrate.upgrade(database.engine)
    with database.read() as session:
        connection = session.connection()
        assert rebuild_required(connection)
        assert connection.execute(text("SELECT count(*) FROM stance_intervals")).scalar() == 0
        outbox_before = connection.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar()

    restarted = services_for(database)  # a process started after the upgrade
    assert restarted.projector.catch_up() == 0  # nothing new in the log: the rebuild is not counted
    assert _replay(database, known_at=report.article_known_at) == as_published
    with database.read() as session:
        connection = session.connection()
        assert not rebuild_required(connection)
        outbox_after = connection.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar()
    assert outbox_after == outbox_before
    assert restarted.projector.verify() == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_new_kind_of_rectangle_id_makes_every_rectangle_again(make_database, backend):
    """0011 changes how rectangle ids are made: a database with history is marked for a
    rebuild either way, and the first catch-up gives every rectangle the id this code makes."""
    database = Database(make_database(backend).engine)
    services = services_for(database)
    report = load_demo(services.bus)
    as_published = _replay(database, known_at=report.article_known_at)
    with database.write() as session:  # as if written by the code before 0011
        session.connection().execute(text("UPDATE stance_intervals SET interval_id = -interval_id"))

    migrate.downgrade(database.engine, "0010")
    with database.read() as session:
        assert rebuild_required(session.connection())
    with database.write() as session:
        clear_rebuild_marker(session.connection())
    migrate.upgrade(database.engine)
    with database.read() as session:
        assert rebuild_required(session.connection())

    restarted = services_for(database)
    assert restarted.projector.catch_up() == 0
    with database.read() as session:
        connection = session.connection()
        assert not rebuild_required(connection)
        lowest = connection.execute(text("SELECT min(interval_id) FROM stance_intervals"))
        assert lowest.scalar() > 0
    assert _replay(database, known_at=report.article_known_at) == as_published
    assert restarted.projector.verify() == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_new_keys_keep_every_row_and_every_answer(make_database, backend):
    """0012 copies the versions and the rectangles into tables with new keys: both ways, every
    row is kept as it was, replays answer the same, nothing is marked for a rebuild, and the
    tables then take writes (a retraction closes a version and rectangles through them)."""
    database = Database(make_database(backend).engine)
    services = services_for(database)
    report = load_demo(services.bus)
    as_published = _replay(database, known_at=report.article_known_at)
    corrected = _replay(database)
    rows = _rows(database)

    migrate.downgrade(database.engine, "0011")
    assert _rows(database) == rows
    assert _keys(database) == {
        "statement_versions": ["statement_id", "version_no"],
        "stance_intervals": ["interval_id"],
    }
    migrate.upgrade(database.engine)
    assert _rows(database) == rows
    assert _keys(database) == {
        "statement_versions": ["caused_by_position"],
        "stance_intervals": [],
    }
    with database.read() as session:
        assert not rebuild_required(session.connection())
    assert _replay(database, known_at=report.article_known_at) == as_published
    assert _replay(database) == corrected

    restarted = services_for(database)
    pair = {"actor_ids": ["lukashenko"], "topic_ids": ["war-justified"]}
    with database.read() as session:
        (before,) = stances(session.connection(), **pair)
    restarted.bus.execute(RetractStatement(before.statement.statement_id, "testing new keys"))
    with database.read() as session:
        after = stances(session.connection(), **pair)
    assert [cell.statement.statement_id for cell in after] != [before.statement.statement_id]
    assert len(_rows(database)["statement_versions"]) == len(rows["statement_versions"]) + 1
    assert restarted.projector.verify() == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_closed_pair_index_and_byte_order_ids_keep_every_answer(make_database, backend):
    """0013 narrows the rectangles' pair index to the closed half and, on PostgreSQL, gives the
    read models' id columns ``COLLATE "C"``: both ways the rows stay as they were, filtered
    replays (which read each half's pair index) answer the same as the whole matrix, and
    nothing is marked for a rebuild."""
    database = Database(make_database(backend).engine)
    report = load_demo(services_for(database).bus)
    as_published = _replay(database, known_at=report.article_known_at)
    rows = _rows(database)
    postgres = backend == "postgresql"

    migrate.downgrade(database.engine, "0012")
    assert _rows(database) == rows
    assert "ix_stance_intervals_pair" in _index_names(database, "stance_intervals")
    assert _id_collations(database) == ({None} if postgres else set())
    migrate.upgrade(database.engine)
    assert _rows(database) == rows
    names = _index_names(database, "stance_intervals")
    assert "ix_stance_intervals_pair_closed" in names
    assert "ix_stance_intervals_pair" not in names
    assert _id_collations(database) == ({"C"} if postgres else set())
    with database.read() as session:
        assert not rebuild_required(session.connection())
    assert _replay(database, known_at=report.article_known_at) == as_published
    for actor in ("mirziyoyev", "kamilov"):
        for known in ({"known_at": report.article_known_at}, {"as_of": report.article_known_at}):
            with database.read() as session:
                one = stances(session.connection(), actor_ids=[actor], **known)
            assert {(s.actor_id, s.topic_id): s.stance for s in one} == {
                pair: label for pair, label in _replay(database, **known).items() if actor in pair
            }
    with database.read() as session:
        (said,) = stances(
            session.connection(),
            actor_ids=["mirziyoyev"],
            topic_ids=["ukraine-sovereignty"],
            known_at=report.article_known_at,
        )
    assert said.stance == "supports"  # as the article had it: a closed rectangle's answer


def _index_names(database: Database, table: str) -> set[str]:
    return {str(index["name"]) for index in inspect(database.engine).get_indexes(table)}


def _id_collations(database: Database) -> set[str | None]:
    """The collations of the read models' actor and topic id columns (PostgreSQL; None: the
    database's default); none on SQLite."""
    if database.engine.dialect.name != "postgresql":
        return set()
    with database.read() as session:
        found = session.connection().execute(
            text(
                "SELECT DISTINCT collation_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND column_name IN ('actor_id', 'topic_id') "
                "AND table_name IN ('actors', 'topics', 'statement_versions', 'stance_intervals', "
                "'stance_pairs', 'current_stances', 'stance_changes')"
            )
        )
        return {row[0] for row in found}


def _rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    with database.read() as session:
        connection = session.connection()
        return {
            table: sorted(connection.execute(text(f"SELECT * FROM {table}")).all(), key=repr)
            for table in ("statement_versions", "stance_intervals")
        }


def _keys(database: Database) -> dict[str, list[str]]:
    inspector = inspect(database.engine)
    return {
        table: inspector.get_pk_constraint(table)["constrained_columns"]
        for table in ("statement_versions", "stance_intervals")
    }


def _replay(database: Database, **when: Any) -> dict[tuple[str, str], str]:
    with database.read() as session:
        return {(s.actor_id, s.topic_id): s.stance for s in stances(session.connection(), **when)}
