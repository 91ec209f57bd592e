"""Catching up reads the rows a batch touches straight from the driver (``loads``): each row
must be the very dict SQLAlchemy's column types would have given, on SQLite and PostgreSQL,
since the projection compares these values and digests them into rectangle ids."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from service.db import Database
from service.domain.commands import CorrectStatement
from service.domain.values import Source
from service.projections import loads
from service.store.read_model_tables import ReadModelTables
from tests.integration.helpers import record_numbered, services_for, two_actors_one_topic

BASE = datetime(2022, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
SOURCE = Source(url="https://example.org/l", title="L", publisher="Wire", published_at=BASE)


def _recorded(database: Database) -> list[uuid.UUID]:
    """Statements on two pairs, one waiting for review (it does not count) and one corrected
    (its first version is closed)."""
    services = services_for(database, min_confidence=0.5)
    two_actors_one_topic(services, "KZ")
    ids = [uuid.uuid4() for _ in range(4)]
    for n, statement_id in enumerate(ids):
        record_numbered(
            services,
            statement_id,
            n,
            stance=["supports", "opposes", "neutral", "leans_supports"][n],
            stated_at=BASE + timedelta(days=n),
            source=SOURCE,
            confidence=0.3 if n == 3 else 0.9,
        )
    services.bus.execute(CorrectStatement(ids[0], reason="misread", stance="leans_opposes"))
    return ids


def _as_sqlalchemy_reads(database: Database, table: Any, where: Any) -> list[dict[str, Any]]:
    with database.read() as session:
        rows = session.connection().execute(select(table).where(where)).mappings()
        return [dict(row) for row in rows]


def _by_key(rows: list[dict[str, Any]], table: Any) -> list[dict[str, Any]]:
    keys = [column.name for column in table.primary_key.columns]
    return sorted(rows, key=lambda row: tuple(str(row[key]) for key in keys))


def test_rows_of_pairs_are_the_rows_sqlalchemy_reads(database: Database):
    _recorded(database)
    tables = ReadModelTables.live()
    pairs = [("a1", "t1"), ("a2", "t1"), ("a9", "t1")]
    for table in (tables.statement_versions, tables.current_stances, tables.stance_pairs):
        with database.read() as session:
            direct = loads.rows_of_pairs(session.connection(), table, pairs)
        expected = _as_sqlalchemy_reads(database, table, table.c.actor_id.in_(["a1", "a2"]))
        assert expected
        assert _by_key(direct, table) == _by_key(expected, table)
        for got, want in zip(_by_key(direct, table), _by_key(expected, table), strict=True):
            assert [type(value) for value in got.values()] == [
                type(value) for value in want.values()
            ]


def test_a_condition_narrows_the_rows_and_ids_find_theirs(database: Database):
    ids = _recorded(database)
    versions = ReadModelTables.live().statement_versions
    with database.read() as session:
        connection = session.connection()
        counting = loads.rows_of_pairs(
            connection,
            versions,
            [("a1", "t1"), ("a2", "t1")],
            where=f"{loads.is_true(connection, 'counts')} AND known_until IS NULL",
        )
        open_rows = loads.rows_of_ids(
            connection, versions, "statement_id", ids, where="known_until_position IS NULL"
        )
    assert sorted((row["statement_id"], row["stance"]) for row in counting) == sorted(
        [(ids[0], "leans_opposes"), (ids[1], "opposes"), (ids[2], "neutral")]
    )
    assert sorted(row["statement_id"] for row in open_rows) == sorted(ids)
    assert all(row["counts"] is True for row in counting)
    assert {row["status"] for row in open_rows if row["statement_id"] == ids[3]} == {"pending"}
