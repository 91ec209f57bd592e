"""The read-model rows a batch of events touches, read straight from the driver.

Catching up loads, for each pair a batch touches, its counting statements and current stance:
tens of thousands of rows per batch once pairs have long histories. Built as SQLAlchemy
expressions (an OR of one comparison per pair) and read through its result processing, that
load took 4.9 s of 8 s to catch up 20,000 statements on SQLite. Here the SQL is text run on the
driver (``driver_sql.run``), and rows become dicts keyed by column name with each value converted
as the column's type reads it (``SqliteValues``: aware UTC datetimes, ``uuid.UUID``, parsed
JSON, booleans), so the projection sees exactly what SQLAlchemy would have given it.
"""

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Table, Uuid

from service.store.driver_sql import SqliteValues, run
from service.store.types import UTCDateTime

Pair = tuple[str, str]
Row = dict[str, Any]


def rows_of_pairs(
    connection: Connection, table: Table, pairs: Sequence[Pair], *, where: str = ""
) -> list[Row]:
    """The rows of ``table`` whose (actor_id, topic_id) is one of ``pairs``, and that meet
    ``where`` (SQL, with no parameters). An OR of equalities: SQLite plans a row-value ``IN``
    list as a scan of the whole table, and an OR as one index range per pair, on both
    backends."""
    if not pairs:
        return []
    condition = " OR ".join(
        f"(actor_id = :actor_{n} AND topic_id = :topic_{n})" for n in range(len(pairs))
    )
    params: dict[str, Any] = {}
    for n, (actor_id, topic_id) in enumerate(pairs):
        params[f"actor_{n}"], params[f"topic_{n}"] = actor_id, topic_id
    return _read(connection, table, f"({condition}){_and(where)}", params)


def rows_of_ids(
    connection: Connection, table: Table, column: str, ids: Sequence[Any], *, where: str = ""
) -> list[Row]:
    """The rows of ``table`` whose ``column`` is one of ``ids`` (UUIDs in their Python form),
    and that meet ``where``."""
    if not ids:
        return []
    return _read(connection, table, f"{column} IN :ids{_and(where)}", {"ids": list(ids)})


def is_true(connection: Connection, column: str) -> str:
    """SQL for a boolean column being true: SQLite stores booleans as 0 and 1."""
    return f"{column} = 1" if connection.dialect.name == "sqlite" else column


def _and(where: str) -> str:
    return f" AND {where}" if where else ""


def _read(
    connection: Connection, table: Table, condition: str, params: dict[str, Any]
) -> list[Row]:
    """The rows of ``table`` meeting ``condition``, through ``driver_sql.run`` (which expands
    lists and puts values in the driver's form), as dicts of converted values."""
    names = [column.name for column in table.columns]
    sql = f"SELECT {', '.join(names)} FROM {table.name} WHERE {condition}"
    converters = _converters(table, SqliteValues(connection.dialect.name == "sqlite"))
    rows = []
    for values in run(connection, sql, params):
        row = dict(zip(names, values, strict=True))
        for name, convert in converters:
            row[name] = convert(row[name])
        rows.append(row)
    return rows


def _converters(table: Table, values: SqliteValues) -> list[tuple[str, Callable[[Any], Any]]]:
    """The columns whose driver values need converting, with how."""
    found: list[tuple[str, Callable[[Any], Any]]] = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, UTCDateTime):
            found.append((column.name, values.time))
        elif isinstance(kind, Uuid):
            found.append((column.name, values.uuid))
        elif isinstance(kind, JSON):
            found.append((column.name, values.json))
        elif isinstance(kind, Boolean):
            found.append((column.name, _nullable(values.bool)))
    return found


def _nullable(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def converted(value: Any) -> Any:
        return None if value is None else convert(value)

    return converted
