"""The read side: current stances, replay as of a valid time and as known at a transaction time.

Every answer is one indexed query on the read models, never a walk over the log. Current stances
come from ``current_stances``. A replay asks ``stance_intervals`` for the rectangles holding the
point (as_of, known_at): each names the statement the stance rule picks there and the stance it
flips from, with the statement's columns copied in, so the whole matrix is one probe of a
spatial index and no join.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from service.domain.stances import Stance, is_flip
from service.store import interval_index
from service.store.driver_sql import Array, SqliteValues, expand, run
from service.store.read_model_tables import ReadModelTables

_T = ReadModelTables.live()


class StatementRef(NamedTuple):
    """The statement a stance rests on, with enough to cite it."""

    statement_id: uuid.UUID
    quote: str
    stated_at: datetime
    kind: str
    source: dict[str, Any]
    status: str


class StanceView(NamedTuple):
    """One cell of the matrix. A named tuple: matrices have thousands of cells, and building
    frozen dataclasses would cost more than the query. Cells sort by (actor_id, topic_id), the
    first fields, and a matrix never holds two of one pair."""

    actor_id: str
    topic_id: str
    stance: str
    score: int
    since: datetime
    previous_stance: str | None
    flip: bool
    statement: StatementRef


@dataclass(frozen=True)
class StanceChangeView:
    position: int
    actor_id: str
    topic_id: str
    from_stance: str | None
    to_stance: str | None
    flip: bool
    statement_id: uuid.UUID | None
    previous_statement_id: uuid.UUID | None
    since: datetime | None
    event_type: str
    recorded_at: datetime


_INTERVAL_COLUMNS = (
    "i.actor_id, i.topic_id, i.stance, i.score, i.valid_from, i.statement_id, i.quote, i.kind, "
    "i.source, i.status, i.previous_stance, i.flip, i.interval_id"
)
_EXACT = """i.valid_from <= :as_of AND (i.valid_until IS NULL OR i.valid_until > :as_of)
    AND i.known_from_position <= :known
    AND (i.known_until_position IS NULL OR i.known_until_position > :known)"""
_SQLITE_PROBE = f"""
    SELECT id, valid_lo >= :valid - :slack OR valid_hi <= :valid + :slack
               OR known_lo >= :known - :known_slack OR known_hi <= :known + :known_slack
    FROM {interval_index.RTREE}
    WHERE valid_lo <= :valid AND valid_hi >= :valid AND known_lo <= :known AND known_hi > :known
"""
_SQLITE_PAIRS = f"SELECT {_INTERVAL_COLUMNS} FROM stance_intervals i WHERE {_EXACT} {{where}}"
_SQLITE_CHECK = (
    f"SELECT i.interval_id FROM stance_intervals i WHERE {_EXACT} AND i.interval_id IN :ids"
)
_POSTGRES_AT = """tstzrange(i.valid_from, i.valid_until) @> :as_of::timestamptz
      AND tstzrange(i.known_from, i.known_until) @> :known_at::timestamptz"""
_POSTGRES_PROBE = f"SELECT i.interval_id FROM stance_intervals i WHERE {_POSTGRES_AT}"
_POSTGRES_PAIRS = (
    f"SELECT {_INTERVAL_COLUMNS} FROM stance_intervals i WHERE {_POSTGRES_AT} {{where}}"
)
_BY_ID = f"SELECT {_INTERVAL_COLUMNS} FROM stance_intervals i WHERE i.interval_id IN :ids"
_BY_ID_ARRAY = f"SELECT {_INTERVAL_COLUMNS} FROM stance_intervals i WHERE i.interval_id = ANY(:ids)"
_KNOWN_NOW = 1 << 53
"""The position standing for "known now": above every position, below the R*Tree's open end."""
_POSITION_KNOWN_AT = """
    SELECT position FROM events WHERE recorded_at <= :known_at
    ORDER BY recorded_at DESC, position DESC LIMIT 1
"""
_FLOAT32_EPSILON = 2.0**-23
_CELLS: dict[int, tuple[str, "StanceView"]] = {}
"""Matrix cells already built, by rectangle id, each with its sort key (``_pair_key``). The id is
a digest of everything the rectangle says, so an entry never goes stale and serves every database
the process reads; building a cell costs more than finding its rectangle. Cells are shared:
callers must not change them (nor their ``source`` dicts)."""
_CELLS_MAX = 50_000
_CHUNK = 30_000
"""Ids per ``IN`` list: under SQLite's 32,766 variables, so a matrix is one read of its rows."""


def _replay(
    connection: Connection,
    *,
    as_of: datetime,
    known_at: datetime | None,
    filters: list[str],
    params: dict[str, Any],
) -> list["StanceView"]:
    """The cells of the ``stance_intervals`` rectangles holding (as_of, known_at), at most one
    per pair, in (actor_id, topic_id) order (sorted here, see ``_cells``).

    On PostgreSQL a GiST probe on both time ranges, exact. On SQLite the transaction time becomes
    the last log position recorded by then (recorded times never go down along the log, so
    "known at K" is "known after that position"), and the matrix is a probe of the R*Tree alone.
    Its boxes are rounded outwards, so a box whose edge lies within rounding distance of the point
    is checked against the table's exact columns; the rest are certain. A few pairs are a range
    of the pair index each. Only the cells not built before are read from the table.
    """
    sqlite = connection.dialect.name == "sqlite"
    where = "".join(f" AND {f}" for f in filters)
    params = {**params, "as_of": as_of, "known_at": known_at or _END_OF_TIME}
    if sqlite:
        if known_at is None:
            params["known"] = _KNOWN_NOW
        else:
            found = run(connection, _POSITION_KNOWN_AT, params)
            if not found:
                return []  # before the first event: nothing was known
            params["known"] = found[0][0]
    values = SqliteValues(sqlite)
    if filters:
        sql = (_SQLITE_PAIRS if sqlite else _POSTGRES_PAIRS).format(where=where)
        return sorted(_cell(values, row) for row in run(connection, sql, params))
    if sqlite:
        ids = _sqlite_probe(connection, params, valid=as_of.timestamp())
    else:
        ids = [row[0] for row in run(connection, _POSTGRES_PROBE, params)]
    return _cells(connection, values, ids)


def _sqlite_probe(connection: Connection, params: dict[str, Any], *, valid: float) -> list[int]:
    """The ids of the rectangles holding the point, from the R*Tree alone. Its boxes are rounded
    outwards (32-bit floats, and a second or two on the valid axis), so the box of a rectangle
    that does not hold the point may still hold it, but only within rounding distance of an
    edge: boxes holding the point with that margin to spare are certain, the few within the
    margin (flagged by the probe itself) are checked against the table."""
    known = params["known"]
    bounds = {
        **params,
        "valid": valid,
        "slack": interval_index.VALID_SLACK + 2 * abs(valid) * _FLOAT32_EPSILON + 1,
        "known_slack": 2 * abs(known) * _FLOAT32_EPSILON + 1,
    }
    rows = run(connection, _SQLITE_PROBE, bounds)
    ids = [interval_id for interval_id, near_edge in rows if not near_edge]
    if len(ids) == len(rows):
        return ids
    unsure = [interval_id for interval_id, near_edge in rows if near_edge]
    for start in range(0, len(unsure), _CHUNK):
        chunk = {**params, "ids": unsure[start : start + _CHUNK]}
        ids.extend(row[0] for row in run(connection, _SQLITE_CHECK, chunk))
    return ids


def _cells(connection: Connection, values: SqliteValues, ids: list[int]) -> list["StanceView"]:
    """The cells of rectangles ``ids``, from the cache or read and built, in pair order.

    Sorted by a string key kept with each cell: Python compares plain strings several times
    faster than named tuples (a third of the time of sorting the cells themselves), and the
    probes answer in index order, not pair order."""
    cells = _CELLS
    found = [cells.get(interval_id) for interval_id in ids]
    if None in found:
        missing = [i for i, cell in zip(ids, found, strict=True) if cell is None]
        if len(cells) + len(missing) > _CELLS_MAX:
            cells.clear()  # all of this matrix's cells are wanted at once: read them all
            missing = ids
        _build(connection, values, missing)
        found = [cells[interval_id] for interval_id in ids]
    found.sort(key=_FIRST)
    return [cell for _key, cell in found]


def _build(connection: Connection, values: SqliteValues, missing: list[int]) -> None:
    """Read the rectangles ``missing`` and put their cells in the cache."""
    cells = _CELLS
    if connection.dialect.name == "sqlite":
        reads = [
            (_BY_ID, {"ids": missing[start : start + _CHUNK]})
            for start in range(0, len(missing), _CHUNK)
        ]
    else:
        reads = [(_BY_ID_ARRAY, {"ids": Array(missing)})]
    for sql, params in reads:
        for row in run(connection, sql, params):
            cells[row[12]] = (_pair_key(row[0], row[1]), _cell(values, row))


def _pair_key(actor_id: str, topic_id: str) -> str:
    """A string that sorts as (actor_id, topic_id) does: ids are slugs, so NUL, the least
    character, cannot occur in them and ends the actor id before any character of another."""
    return f"{actor_id}\0{topic_id}"


_FIRST = itemgetter(0)


def _cell(values: SqliteValues, row: tuple[Any, ...]) -> "StanceView":
    return _view(values, row[0], row[1], row[2], row[3], row[4], row[5:10], row[10], row[11])


_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)

_CURRENT_SQL = """
    SELECT c.actor_id, c.topic_id, c.stance, c.score, c.since, c.statement_id, v.quote, v.kind,
           v.source, v.status, c.previous_stance, c.flip
    FROM current_stances c
    JOIN statement_versions v
      ON v.statement_id = c.statement_id AND v.known_until_position IS NULL
    {where}
    ORDER BY c.actor_id, c.topic_id
"""


def stances(
    connection: Connection,
    *,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    actor_ids: Sequence[str] | None = None,
    topic_ids: Sequence[str] | None = None,
) -> list[StanceView]:
    """The stance matrix as of valid time ``as_of`` as known at ``known_at`` (None: now)."""
    if as_of is None and known_at is None:
        return current_stances(connection, actor_ids=actor_ids, topic_ids=topic_ids)
    filters, params = [], {}
    if actor_ids is not None:
        filters.append("i.actor_id IN :actor_ids")
        params["actor_ids"] = expand(actor_ids)
    if topic_ids is not None:
        filters.append("i.topic_id IN :topic_ids")
        params["topic_ids"] = expand(topic_ids)
    return _replay(
        connection, as_of=as_of or _END_OF_TIME, known_at=known_at, filters=filters, params=params
    )


def current_stances(
    connection: Connection,
    *,
    actor_ids: Sequence[str] | None = None,
    topic_ids: Sequence[str] | None = None,
) -> list[StanceView]:
    """Stances as known now, from the ``current_stances`` read model."""
    filters, params = [], {}
    if actor_ids is not None:
        filters.append("c.actor_id IN :actor_ids")
        params["actor_ids"] = expand(actor_ids)
    if topic_ids is not None:
        filters.append("c.topic_id IN :topic_ids")
        params["topic_ids"] = expand(topic_ids)
    where = f"WHERE {' AND '.join(filters)}" if filters else ""
    values = SqliteValues(connection.dialect.name == "sqlite")
    return [
        _view(values, row[0], row[1], row[2], row[3], row[4], row[5:10], row[10], row[11])
        for row in run(connection, _CURRENT_SQL.format(where=where), params)
    ]


def _view(
    values: SqliteValues,
    actor_id: str,
    topic_id: str,
    stance: str,
    score: int,
    since: Any,
    statement: tuple[Any, ...],
    previous: str | None,
    flip: Any = None,
) -> StanceView:
    """Positional, through ``tuple.__new__`` as ``NamedTuple._make`` does: keyword arguments
    would double the cost of a cell, and a matrix builds thousands."""
    stated_at = values.time(since)
    statement_id, quote, kind, source, status = statement
    ref = (values.uuid(statement_id), quote, stated_at, kind, values.json(source), status)
    return _new(
        StanceView,
        (
            actor_id,
            topic_id,
            stance,
            score,
            stated_at,
            previous,
            _FLIPS[(previous, stance)] if flip is None else bool(flip),
            _new(StatementRef, ref),
        ),
    )


_new = tuple.__new__


_FLIPS = {
    (previous.value if previous else None, current.value): is_flip(previous, current)
    for previous in (None, *Stance)
    for current in Stance
}


def stance(
    connection: Connection,
    actor_id: str,
    topic_id: str,
    *,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> StanceView | None:
    """One actor's stance on one topic, with the statement behind it; None: no stance."""
    found = stances(
        connection, as_of=as_of, known_at=known_at, actor_ids=[actor_id], topic_ids=[topic_id]
    )
    return found[0] if found else None


def stance_history(connection: Connection, actor_id: str, topic_id: str) -> list[StanceChangeView]:
    """Every change of the current stance of (actor, topic), oldest first."""
    changes = _T.stance_changes
    query = (
        select(changes)
        .where(changes.c.actor_id == actor_id, changes.c.topic_id == topic_id)
        .order_by(changes.c.position)
    )
    return [
        StanceChangeView(
            position=row.position,
            actor_id=row.actor_id,
            topic_id=row.topic_id,
            from_stance=row.from_stance,
            to_stance=row.to_stance,
            flip=row.flip,
            statement_id=row.statement_id,
            previous_statement_id=row.previous_statement_id,
            since=row.since,
            event_type=row.event_type,
            recorded_at=row.recorded_at,
        )
        for row in connection.execute(query)
    ]
