"""Alembic on both backends: upgrade, downgrade, upgrade again; the schema matches the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from service.store import migrate
from service.store.schema import include_object, target_metadata


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
