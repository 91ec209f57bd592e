"""What a rebuild sets on its connection and gathers about its tables, by backend: SQLite's
page cache and index sorter for the rebuild's transaction, PostgreSQL's statistics of the log
before it is read and its vacuum of the new tables after the commit."""

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Connection

from service.db import Database
from service.store.read_model_tables import ReadModelTables

_REBUILD_CACHE_KIB = 512 * 1024
"""SQLite's page cache during a rebuild (its default is 2 MB): what the tables and indexes of
the rebuilt rows take at 200,000 statements (some 250 MB), so loading them and building the
indexes does not read back pages it wrote moments before. Pages are allocated as they are used,
and the cache shrinks back before the commit."""


@contextmanager
def page_cache(connection: Connection) -> Iterator[None]:
    """A large SQLite page cache for the block (nothing to do on PostgreSQL)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    with _pragmas(connection, cache_size=-_REBUILD_CACHE_KIB):
        yield


@contextmanager
def _pragmas(connection: Connection, **settings: int) -> Iterator[None]:
    """SQLite settings of this connection for the block, each given back its value after."""
    driver = connection.connection.driver_connection
    before = {
        name: int(driver.execute(f"PRAGMA {name}").fetchone()[0])  # type: ignore[union-attr]
        for name in settings
    }
    for name, value in settings.items():
        driver.execute(f"PRAGMA {name} = {value}")  # type: ignore[union-attr]
    try:
        yield
    finally:
        for name, value in reversed(before.items()):
            driver.execute(f"PRAGMA {name} = {value}")  # type: ignore[union-attr]


_SORT_CACHE_KIB = 2000
"""SQLite's page cache while a rebuild builds its indexes: its default. The sorter of a CREATE
INDEX keeps up to a page cache's worth of keys in memory per sorted run; with the rebuild's
512 MB (``_REBUILD_CACHE_KIB``) each index was one sort of the whole table in memory, which
misses the processor's caches all the way. Runs of 2 MB, merged, took the six indexes of
514,000 rectangles from 2.3 to 1.8 s, and 1.5 s with a second thread (``_SORT_THREADS``)
sorting runs beside the first; 8 and 32 MB were slower than 2. The transaction's pages beyond
the smaller cache are written to the WAL meanwhile, as the commit would write them anyway."""
_SORT_THREADS = min(2, os.cpu_count() or 1) - 1
"""Helper threads of SQLite's sorter during a rebuild's index builds: one, with a second core
(the second fold process has finished by then)."""


def sorting(connection: Connection) -> AbstractContextManager[None]:
    """SQLite's settings for building indexes in a rebuild, for the block (see
    ``_SORT_CACHE_KIB``); the rebuild's own page cache comes back after it."""
    return _pragmas(connection, cache_size=-_SORT_CACHE_KIB, threads=_SORT_THREADS)


_STALE_SHARE = 0.1
"""Share of the log written since its last ANALYZE beyond which a rebuild analyses it first."""


def fresh_log_statistics(connection: Connection) -> None:
    """ANALYZE ``events`` first if it has no statistics or much of it was written since they
    were taken (a bulk import, a fresh database: autovacuum comes round later; the activity
    counts may lag a second, the statistics themselves do not). Without them PostgreSQL
    plans each page of the replay's read as a bitmap scan of the whole rest of the log and a
    sort on disk: 3.9 s to read 200,000 events, against 0.95 s by the primary key."""
    stale = connection.exec_driver_sql(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_statistic WHERE starelid = 'events'::regclass) "
        "OR coalesce((SELECT n_mod_since_analyze > %(share)s * greatest(n_live_tup, 1) "
        "FROM pg_stat_user_tables WHERE relid = 'events'::regclass), false)",
        {"share": _STALE_SHARE},
    ).scalar()
    if stale:
        connection.exec_driver_sql("ANALYZE events")


def vacuum_new_tables(database: Database) -> None:
    """On PostgreSQL, VACUUM the new tables, which sets the visibility map of the pages the
    catalog was inserted in (``CatalogFold``; the rest came frozen, and is skipped), so index-only
    scans need not visit them. It takes no lock readers or writers wait for, and runs after the
    commit, so the new tables are already served. The planner's statistics came with the
    tables (``ReadModelTables.index_shadow``). SQLite keeps no such statistics."""
    if database.is_sqlite:
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ReadModelTables.live().all():
            connection.exec_driver_sql(f"VACUUM {table.name}")
