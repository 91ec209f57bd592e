"""How a replay's rows reach the tables: each table's columns and key (``LAYOUT``), and the
``Writer`` that sends them, in the order that builds the tables fastest on each backend.
"""

from collections.abc import Callable
from dataclasses import fields
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table

from service.projections import bulk
from service.projections.fold import (
    CURRENT_COLUMNS,
    INTERVAL_COLUMNS,
    PAIR_COLUMNS,
    VERSION_COLUMNS,
    Rows,
)
from service.projections.pairs import CHANGE_COLUMNS
from service.projections.shares import ShareRows
from service.store.read_model_tables import ReadModelTables


class Writer:
    """Writes the fold's rows to ``tables``; on SQLite each table's rows in primary-key order,
    so each B-tree insert lands at its right-hand edge (the rectangles, which have no key, in
    the order they were made, which their rowids follow). PostgreSQL's tables have no key yet
    while they are filled (``ReadModelTables.shadow``), and the server sorts when it builds it.
    ``loaded`` is told each table's name once its last rows are written (``finish``)."""

    def __init__(
        self,
        connection: Connection,
        tables: ReadModelTables,
        *,
        freeze: bool,
        loaded: Callable[[str], None] | None = None,
    ) -> None:
        self.connection = connection
        self.tables = tables
        self.freeze = freeze
        self.loaded = loaded
        self._finished: set[str] = set()
        self.written_ahead: list[list[tuple[Any, ...]]] = []
        """The rows ``write_ahead`` wrote."""

    def write(self, rows: Rows, theirs: ShareRows | None = None) -> None:
        """Write ``rows``, and the rows another process made for its share of the pairs
        (``fold_process``). Its rows join these before the sort, which merges the two sorted
        runs in one pass; its COPY streams are sent as they are."""
        sqlite = self.connection.dialect.name == "sqlite"
        for name, (columns, key) in LAYOUT.items():
            found = rows.get(name, [])
            if theirs is not None:
                found.extend(theirs.rows.get(name, ()))
            table: Table = getattr(self.tables, name)
            if found:
                if sqlite and key is not None:
                    found.sort(key=key)
                bulk.insert_tuples(self.connection, table, columns, found, freeze=self.freeze)
            if theirs is not None:
                for stream in theirs.streams.get(name, ()):
                    bulk.copy_stream(self.connection, table, columns, stream, freeze=self.freeze)

    def write_ahead(self, rows: Rows) -> None:
        """Write those of ``rows`` that need not wait for another process's share, and take
        them out of ``rows``: on PostgreSQL every table's (they have no key while they are
        filled), on SQLite the rectangles' (no key: they go in in the order they come). A
        SQLite table with a key waits, so the two shares' rows go in as one sorted run
        (``write``). The process whose share is done first writes its rows while the other
        still folds, rather than both shares after: at 200,000 statements this process's
        rectangles took 0.2 s to send to PostgreSQL and 0.3 s to insert on SQLite."""
        sqlite = self.connection.dialect.name == "sqlite"
        for name, (columns, key) in LAYOUT.items():
            found = rows.get(name)
            if not found or (sqlite and key is not None):
                continue
            table: Table = getattr(self.tables, name)
            bulk.insert_tuples(self.connection, table, columns, found, freeze=self.freeze)
            self.written_ahead.append(found)  # freed with the writer, not now
            rows[name] = []

    def write_versions(self, versions: list[tuple[Any, ...]]) -> None:
        """Write every version's row, and tell ``loaded``."""
        self.write({"statement_versions": versions})
        self._done("statement_versions")

    def finish(self) -> None:
        """Tell ``loaded`` of every table it has not been told of."""
        for each in fields(self.tables):
            self._done(each.name)

    def _done(self, name: str) -> None:
        if name not in self._finished:
            self._finished.add(name)
            if self.loaded is not None:
                self.loaded(name)


def _first_two(row: tuple[Any, ...]) -> tuple[Any, Any]:
    return row[0], row[1]


def _change_key(row: tuple[Any, ...]) -> tuple[Any, Any, Any]:
    return row[0], row[1], row[2]


Key = Callable[[tuple[Any, ...]], Any]

LAYOUT: dict[str, tuple[tuple[str, ...], Key | None]] = {
    "statement_versions": (
        VERSION_COLUMNS,
        itemgetter(VERSION_COLUMNS.index("caused_by_position")),
    ),
    "stance_intervals": (INTERVAL_COLUMNS, None),
    "stance_changes": (CHANGE_COLUMNS, _change_key),
    "current_stances": (CURRENT_COLUMNS, _first_two),
    "stance_pairs": (PAIR_COLUMNS, _first_two),
}
"""Each table's columns, in the order the fold builds its tuples, and its primary key (None:
the table has none, and its rows go in as they were made; see ``STANCE_INTERVALS``). The
versions' key is the position that made them, so the fold makes them nearly in key order,
and a sort by it finds long runs already in place."""
