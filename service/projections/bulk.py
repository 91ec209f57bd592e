"""Bulk writes of read-model rows straight to the driver.

A rebuild writes one row per event; SQLAlchemy's per-row parameter processing would cost more
than everything else the projector does. Values are converted once per column here, exactly as
SQLAlchemy's types would store them (UUIDs as hex on SQLite, naive UTC text datetimes, JSON
text), so the ORM and the queries read these rows like any other.
"""

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from psycopg import Copy
from psycopg.copy import FileWriter
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Boolean, Connection, Table, Uuid

from service.store.driver_sql import sqlite_time
from service.store.types import UTCDateTime

Converter = Callable[[Any], Any]


@lru_cache(maxsize=65536)
def _sqlite_time(value: datetime | None) -> str | None:
    """Cached: a rebuild writes the same instants many times (a statement's stated_at bounds
    several rectangles, an event's time opens and closes them)."""
    return None if value is None else sqlite_time(value)


def _sqlite_uuid(value: Any) -> str | None:
    return None if value is None else value.hex


def _sqlite_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _memo(converter: "Converter") -> "Converter":
    """``converter`` remembered per object for one insert: the rectangles of a statement share
    its version's ``source`` dict, which need not be encoded again for each. Keyed by ``id``,
    which is safe while the rows (and so the objects) are alive, that is for the call."""
    seen: dict[int, Any] = {}

    def convert(value: Any) -> Any:
        key = id(value)
        if key not in seen:
            seen[key] = converter(value)
        return seen[key]

    return convert


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def postgres_json(value: Any) -> Jsonb:
    """A jsonb parameter or COPY value, encoded by orjson when it is sent."""
    return Jsonb(value, dumps=_sqlite_json)


def _converter(column_type: Any, dialect: str) -> Converter | None:
    """How to hand a column's values to the driver; None where they go as they are."""
    if dialect == "sqlite":
        if isinstance(column_type, UTCDateTime):
            return _sqlite_time
        if isinstance(column_type, Uuid):
            return _sqlite_uuid
        if isinstance(column_type, JSON):
            return _sqlite_json
        if isinstance(column_type, Boolean):
            return _sqlite_bool
        return None
    if isinstance(column_type, JSON):
        return postgres_json
    return None


def _row_builder(
    dialect: str, names: Sequence[str], types: Sequence[Any]
) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A function turning a row dict into the driver's tuple: all values fetched at C speed by
    ``itemgetter``, only the columns that need it converted."""
    getter = itemgetter(*names)
    converted = [
        (index, _memo(converter) if isinstance(column_type, JSON) else converter)
        for index, column_type in enumerate(types)
        if (converter := _converter(column_type, dialect)) is not None
    ]

    def build(row: dict[str, Any]) -> tuple[Any, ...]:
        values = getter(row) if len(names) > 1 else (getter(row),)
        if not converted:
            return tuple(values)
        values = list(values)
        for index, converter in converted:
            values[index] = converter(values[index])
        return tuple(values)

    return build


def _marks(dialect: str, count: int) -> str:
    return ", ".join(["?" if dialect == "sqlite" else "%s"] * count)


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (dicts holding a value for every column of the table)."""
    if not rows:
        return
    dialect = connection.dialect.name
    columns = list(table.columns)
    build = _row_builder(dialect, [c.name for c in columns], [c.type for c in columns])
    sql = (
        f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "
        f"VALUES ({_marks(dialect, len(columns))})"
    )
    if dialect == "postgresql" and len(rows) >= _COPY_FROM:
        copy_sql = f"COPY {table.name} ({', '.join(c.name for c in columns)}) FROM STDIN"
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(build(row))
        return
    connection.exec_driver_sql(sql, [build(row) for row in rows])


def insert_tuples(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    freeze: bool = False,
) -> None:
    """INSERT rows already in the driver's form (``columns`` in order; JSON as text on SQLite,
    ``postgres_json`` on PostgreSQL): a replay's bulk path, which converts as it builds.

    On PostgreSQL by a binary COPY whatever their number: the text form cost the client twice
    the CPU (formatting every timestamp and number as text: 2.2 s against 0.9 s for 200,000
    statement versions). The column types come from the catalog, as binary COPY needs them.
    ``freeze``: COPY ... FREEZE, for a table created in this transaction (PostgreSQL refuses
    it otherwise)."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor:
            types = _column_types(cursor, table.name, columns)
            with cursor.copy(_copy_sql(table.name, columns, freeze)) as copy:
                copy.set_types(types)
                write = copy.write_row
                for row in rows:
                    write(row)
        return
    names = ", ".join(columns)
    marks = _marks("sqlite", len(columns))
    connection.connection.driver_connection.executemany(  # type: ignore[union-attr]
        f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows
    )


def copy_encoding(
    connection: Connection,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    types: Sequence[int],
) -> bytes:
    """``rows`` as the binary COPY stream ``insert_tuples`` would send for them, header to
    trailer, made without sending anything: so that another process can send it
    (``copy_stream``). ``types``: the columns' types (``column_types``), read beforehand, as a
    forked child must send nothing on the connection it shares with its parent."""
    buffer = io.BytesIO()
    driver = connection.connection.driver_connection
    with (
        driver.cursor() as cursor,  # type: ignore[union-attr]
        Copy(cursor, binary=True, writer=FileWriter(buffer)) as copy,
    ):
        copy.set_types(types)
        write = copy.write_row
        for row in rows:
            write(row)
    return buffer.getvalue()


def column_types(connection: Connection, table_name: str, columns: Sequence[str]) -> list[int]:
    """The type of each of ``columns`` of ``table_name``, as a binary COPY needs them, read on
    a cursor of its own: a ``Copy`` made over a cursor that has just returned rows refuses it
    (its status is not COPY)."""
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        return _column_types(cursor, table_name, columns)


def copy_stream(
    connection: Connection, table: Table, columns: Sequence[str], stream: bytes, *, freeze: bool
) -> None:
    """Send a stream from ``copy_encoding`` into ``table`` (PostgreSQL)."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(_copy_sql(table.name, columns, freeze)) as copy:
        copy.write(stream)


def _copy_sql(table_name: str, columns: Sequence[str], freeze: bool) -> str:
    options = "FORMAT BINARY, FREEZE" if freeze else "FORMAT BINARY"
    return f"COPY {table_name} ({', '.join(columns)}) FROM STDIN WITH ({options})"


def _column_types(cursor: Any, table_name: str, columns: Sequence[str]) -> list[int]:
    types = dict(cursor.execute(_COLUMN_TYPES, (table_name,)).fetchall())
    return [types[name] for name in columns]


_COLUMN_TYPES = """
    SELECT attname, atttypid::int FROM pg_attribute
    WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped
"""
_COPY_FROM = 200
"""Rows from which PostgreSQL gets them by COPY: one stream instead of a statement per row."""


def update_rows(
    connection: Connection,
    table: Table,
    *,
    set_columns: Sequence[str],
    key_columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    where_open: bool = False,
) -> None:
    """UPDATE ``set_columns`` of the rows matched by ``key_columns``, one statement per row;
    ``where_open`` only the row among them whose ``known_until_position`` is still null."""
    if not rows:
        return
    dialect = connection.dialect.name
    mark = "?" if dialect == "sqlite" else "%s"
    names = [*set_columns, *key_columns]
    build = _row_builder(dialect, names, [table.c[name].type for name in names])
    sql = (
        f"UPDATE {table.name} SET {', '.join(f'{n} = {mark}' for n in set_columns)} "
        f"WHERE {' AND '.join(f'{n} = {mark}' for n in key_columns)}"
        + (" AND known_until_position IS NULL" if where_open else "")
    )
    connection.exec_driver_sql(sql, [build(row) for row in rows])


def delete_keys(
    connection: Connection,
    table: Table,
    *,
    key_columns: Sequence[str],
    keys: Sequence[tuple[Any, ...]],
) -> None:
    """DELETE the rows whose ``key_columns`` equal each tuple of ``keys``."""
    if not keys:
        return
    dialect = connection.dialect.name
    mark = "?" if dialect == "sqlite" else "%s"
    build = _row_builder(dialect, list(key_columns), [table.c[n].type for n in key_columns])
    sql = f"DELETE FROM {table.name} WHERE {' AND '.join(f'{n} = {mark}' for n in key_columns)}"
    connection.exec_driver_sql(
        sql, [build(dict(zip(key_columns, key, strict=True))) for key in keys]
    )
