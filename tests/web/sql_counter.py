"""Counts the SQL statements an engine's connections run, whichever layer sent them.

The matrix query goes straight to the driver (``service.store.driver_sql``), past SQLAlchemy's
events, so the count is taken at the driver: SQLite's trace callback, and on PostgreSQL a cursor
class that notes each ``execute``. Only reads are kept (``SELECT`` or ``WITH``), less the pool's
liveness pings.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Engine, event

_READ = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)
_PING = re.compile(r"^\s*SELECT\s+1\s*$", re.IGNORECASE)


class SqlCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.active = False

    def seen(self, sql: str) -> None:
        if self.active and _READ.match(sql) and not _PING.match(sql):
            self.statements.append(" ".join(sql.split()))

    def matching(self, pattern: str) -> list[str]:
        return [sql for sql in self.statements if re.search(pattern, sql)]

    def matrix_queries(self) -> list[str]:
        """The stance-matrix reads: a filtered current one reads ``current_stances``; the
        whole current one and every replay probe the interval tree of ``stance_intervals`` by
        its nodes."""
        return self.matching(r"\bFROM current_stances c\b|\bvalid_node IN \(|\bvalid_node = ANY\(")

    def reading(self, table: str) -> list[str]:
        """The statements that read ``table`` (named after FROM or JOIN)."""
        pattern = re.compile(rf"\b(FROM|JOIN)\s+\"?{table}\"?\b", re.IGNORECASE)
        return [sql for sql in self.statements if pattern.search(sql)]


def _counting_cursor(counter: SqlCounter) -> type[psycopg.Cursor[Any]]:
    class CountingCursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            text = query if isinstance(query, str) else getattr(query, "as_string", str)(self)
            counter.seen(str(text))
            return super().execute(query, params, **kwargs)

    return CountingCursor


@contextmanager
def counting(engine: Engine) -> Iterator[SqlCounter]:
    """Within the block, every read any connection of ``engine`` runs is in the counter."""
    counter = SqlCounter()
    sqlite = engine.dialect.name == "sqlite"
    cursor_class = None if sqlite else _counting_cursor(counter)

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if sqlite:
            dbapi_connection.set_trace_callback(counter.seen)
        else:
            dbapi_connection.cursor_factory = cursor_class

    def on_checkin(dbapi_connection: Any, _record: Any) -> None:
        if sqlite:
            dbapi_connection.set_trace_callback(None)
        else:
            dbapi_connection.cursor_factory = psycopg.Cursor

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    counter.active = True
    try:
        yield counter
    finally:
        counter.active = False
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "checkin", on_checkin)
