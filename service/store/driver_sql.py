"""Read queries straight on the driver, for the few answers where row processing dominates.

The stance matrix returns thousands of rows; SQLAlchemy's per-row result processing would take
several times longer than the query itself. Here SQL keeps ``:name`` parameters (lists expand
into ``IN`` lists), is rewritten to the driver's placeholders, and rows come back in one common
form: SQLite's text values are converted by ``SqliteValues`` exactly as SQLAlchemy's types read
them, PostgreSQL's arrive typed.
"""

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection

from service.domain.ids import uuid_from_int

_NAME = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


def run(connection: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Execute ``sql`` with named ``params`` on the raw connection inside the transaction."""
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    values: list[Any] = []

    def substitute(match: re.Match[str]) -> str:
        value = params[match.group(1)]
        if isinstance(value, list | tuple) and not isinstance(value, Array):
            values.extend(_driver_value(v, sqlite) for v in value)
            return "(" + ", ".join([mark] * len(value)) + ")"
        values.append(_driver_value(value, sqlite))
        return mark

    driver_sql = _NAME.sub(substitute, sql)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(driver_sql, values)
        return cursor.fetchall()
    finally:
        cursor.close()


class Array(list[Any]):
    """A list bound as one parameter, a PostgreSQL array (``= ANY(:ids)``), not expanded into an
    ``IN`` list: reading 5,000 rows by id took about twice as long through 5,000 placeholders
    (adapting and planning them) as through one array."""


def _driver_value(value: Any, sqlite: bool) -> Any:
    if not sqlite:
        return value
    if isinstance(value, datetime):
        return sqlite_time(value)
    if isinstance(value, uuid.UUID):
        return value.hex
    return value


def sqlite_time(value: datetime) -> str:
    """A datetime in SQLAlchemy's SQLite storage form: naive UTC with microseconds."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@lru_cache(maxsize=65536)
def parse_sqlite_time(text: str | None) -> datetime | None:
    """The reverse of ``sqlite_time``; cached, since matrices repeat the same instants."""
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse_sqlite_uuid(text: str | None) -> uuid.UUID | None:
    """SQLAlchemy's SQLite form is 32 hex digits; ``uuid.UUID``'s general parser took half of
    the time to build a matrix cell from its row."""
    if text is None:
        return None
    if len(text) == 32:
        return uuid_from_int(int(text, 16))
    return uuid.UUID(text)


def parse_sqlite_json(text: str | bytes | None) -> Any:
    return None if text is None else orjson.loads(text)


class SqliteValues:
    """Converters for the columns of a driver row, chosen by the dialect once per query."""

    def __init__(self, sqlite: bool) -> None:
        identity = _identity
        self.time = parse_sqlite_time if sqlite else _as_utc
        self.uuid = parse_sqlite_uuid if sqlite else identity
        self.json = parse_sqlite_json if sqlite else identity
        self.bool = bool if sqlite else identity


def _identity(value: Any) -> Any:
    return value


def _as_utc(value: datetime | None) -> datetime | None:
    """psycopg answers in the session time zone's tzinfo; the service speaks UTC everywhere."""
    return None if value is None else value.astimezone(UTC)


def expand(values: Sequence[Any]) -> list[Any]:
    """An ``IN`` list that is never empty (``IN ()`` is a syntax error on both backends)."""
    return list(values) or [None]
