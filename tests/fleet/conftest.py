"""Fixtures of the fleet tests: a private PostgreSQL cluster they may stop and restart."""

import uuid
from collections.abc import Iterator

import pytest

from service.db import create_db_engine
from service.store import migrate
from tests.fleet.cluster import PrivateCluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[PrivateCluster]:
    """One cluster for the session; tests that stop it start it again (``cluster_url`` checks)."""
    private = PrivateCluster(max_connections=200)
    private.start()
    try:
        yield private
    finally:
        private.destroy()


@pytest.fixture
def cluster_url(cluster: PrivateCluster) -> str:
    """A fresh, migrated database on the private cluster (started again if a test stopped it)."""
    if not cluster.running:
        cluster.start()
    url = cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")
    engine = create_db_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return url
