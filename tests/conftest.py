"""Test databases: every database test runs on a real SQLite file and on the real PostgreSQL.

SQLite tests get a fresh file each. PostgreSQL tests get a fresh schema each in the database named
by ``STANCE_TEST_POSTGRES_URL`` (CI creates one per run), migrated by the real Alembic scripts; the
events table cannot be emptied (its triggers refuse it), so isolation by schema is the honest way.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from service.config import normalise_database_url
from service.db import Database, create_db_engine
from service.store import migrate
from service.store.event_store import EventStore

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def postgres_url() -> str:
    return normalise_database_url(
        os.environ.get("STANCE_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)
    )


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


class ProvisionedDatabase:
    """A migrated, empty database for one test: its URL (usable by subprocesses) and an engine."""

    def __init__(self, backend: str, url: str, engine: Engine) -> None:
        self.backend = backend
        self.url = url
        self.engine = engine

    def new_engine(self) -> Engine:
        """Another engine on the same database (its own pool), as another process would have."""
        return create_db_engine(self.url)


@pytest.fixture
def make_database(tmp_path: Path) -> Iterator[object]:
    """A factory of fresh databases; everything it made is dropped at the end of the test."""
    created: list[tuple[str, Engine, str | None]] = []

    def make(backend: str, *, migrated: bool = True) -> ProvisionedDatabase:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'stance-{uuid.uuid4().hex[:8]}.db'}"
            schema = None
        else:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(_libpq_url(postgres_url()), autocommit=True) as admin:
                admin.execute(f'CREATE SCHEMA "{schema}"')
            separator = "&" if "?" in postgres_url() else "?"
            url = f"{postgres_url()}{separator}options=-csearch_path%3D{schema}"
        engine = create_db_engine(url)
        created.append((backend, engine, schema))
        if migrated:
            migrate.upgrade(engine)
        return ProvisionedDatabase(backend, url, engine)

    yield make
    for _backend, engine, schema in created:
        engine.dispose()
        if schema is not None:
            with psycopg.connect(_libpq_url(postgres_url()), autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def test_db(request: pytest.FixtureRequest, make_database: object) -> ProvisionedDatabase:
    """A fresh migrated database, once per backend."""
    return make_database(request.param)  # type: ignore[operator, no-any-return]


@pytest.fixture
def database(test_db: ProvisionedDatabase) -> Database:
    return Database(test_db.engine)


@pytest.fixture
def store() -> EventStore:
    return EventStore()
