"""The read side: current stances, replay as of a valid time and as known at a transaction time.

Every answer is one indexed query on the read models, never a walk over the log. The current
matrix is the replay at the end of valid time; a filtered one comes from ``current_stances``. A
replay asks ``stance_intervals`` for the rectangles holding the
point (as_of, known_at): each names the statement the stance rule picks there and the stance it
flips from, so the whole matrix is one probe of an interval tree, and a join of the
statement versions behind the cells not built before.
"""

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from service.domain.stances import Stance, is_flip
from service.store import interval_index
from service.store.collector import paused_collector
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


_CELL_COLUMNS = (
    "i.actor_id, i.topic_id, v.stance, v.score, v.stated_at, v.statement_id, v.quote, v.kind, "
    "v.source, v.status, i.previous_stance, i.interval_id"
)
_CELL_FROM = (
    "stance_intervals i JOIN statement_versions v ON v.caused_by_position = i.version_position"
)
_PAIRS = f"""
    SELECT {_CELL_COLUMNS} FROM {_CELL_FROM}
    WHERE i.valid_lo <= :valid AND i.valid_hi >= :valid
      AND i.known_from_position <= :known
      AND (i.known_until_position IS NULL OR i.known_until_position > :known) {{where}}
"""
"""A few pairs' cells as known at a moment: each half of the rectangles has a pair index of its
own (revision 0013), and both backends answer the two arms of the ``OR`` by one range of each
(SQLite's multi-index OR, PostgreSQL's BitmapOr). The same as a ``UNION ALL`` of the halves,
which PostgreSQL planned as a parallel append, whose workers took 12 ms to start for a query of
2 ms."""
_PAIRS_NOW = f"""
    SELECT {_CELL_COLUMNS} FROM {_CELL_FROM}
    WHERE i.known_until_position IS NULL
      AND i.valid_lo <= :valid AND i.valid_hi >= :valid {{where}}
"""
"""A few pairs' cells as known now: the open rectangles' pair index alone."""
_BY_ID = f"SELECT {_CELL_COLUMNS} FROM {_CELL_FROM} WHERE i.interval_id IN :ids"
_BY_ID_ARRAY = f"""
    SELECT {_CELL_COLUMNS} FROM unnest(:ids::bigint[]) AS wanted (id)
    JOIN stance_intervals i ON i.interval_id = wanted.id
    JOIN statement_versions v ON v.caused_by_position = i.version_position
"""
"""PostgreSQL's form: ``interval_id = ANY(:ids)`` over 5,000 ids was planned as a scan of the
whole table; a join with the unnested array is an index lookup per id."""
_POSITION_KNOWN_AT = """
    SELECT position FROM events WHERE recorded_at <= :known_at
    ORDER BY recorded_at DESC, position DESC LIMIT 1
"""
_CELLS: dict[int, "StanceView"] = {}
"""Matrix cells already built, by rectangle id. The id is a digest of everything the rectangle
says, so an entry never goes stale and serves every database the process reads; building a cell
costs more than finding its rectangle. Cells are shared: callers must not change them (nor their
``source`` dicts)."""
_SORT_KEYS: dict[int, str] = {}
"""Each cached cell's sort key (``_pair_key``), by rectangle id, beside the cell rather than
paired with it in a tuple: a cache of 50,000 cells is some 150,000 objects the cyclic collector
keeps visiting, and a pair per cell was a quarter more (a dict of strings is not tracked)."""
_CELLS_MAX = 50_000
_MATRICES: dict[tuple[int, ...], list["StanceView"]] = {}
"""Whole matrices already assembled, by the ids of their rectangles in the order the probe
answered them (the same set of rectangles always makes the same matrix, the ids being digests
of what they say): a matrix asked again then costs its probe alone, not 5,000 cache lookups and
a sort (2 of 8 ms at 200,000 statements)."""
_MATRICES_MAX = 16
_MATRICES_LOCK = threading.Lock()
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

    The transaction time becomes the last log position recorded by then (recorded times never
    go down along the log, so "known at K" is "known after that position"; one seek of the
    events' time index). The whole matrix is one probe of the interval tree
    (``interval_index``), which answers the ids from its index entries; a few pairs are a
    range or two of the pair indexes each (``_PAIRS``). Only the cells not built before
    are read, with the versions they name.
    """
    sqlite = connection.dialect.name == "sqlite"
    valid = interval_index.micros(as_of)
    params = {**params, "valid": valid}
    if known_at is None:
        params["known"] = interval_index.KNOWN_NOW
    else:
        found = run(connection, _POSITION_KNOWN_AT, {"known_at": known_at})
        if not found:
            return []  # before the first event: nothing was known
        params["known"] = found[0][0]
    values = SqliteValues(sqlite)
    if filters:
        where = "".join(f" AND {f}" for f in filters)
        sql = (_PAIRS_NOW if known_at is None else _PAIRS).format(where=where)
        return sorted(_cell(values, row) for row in run(connection, sql, params))
    left, right = interval_index.path(valid)
    tree = {"valid": valid, "known": params["known"], "left": left, "right": right}
    if not sqlite:
        tree["left"], tree["right"] = Array(left), Array(right)
    probe = interval_index.probe(sqlite=sqlite, known_now=known_at is None)
    ids = [row[0] for row in run(connection, probe, tree)]
    return _cells(connection, values, ids)


def _cells(connection: Connection, values: SqliteValues, ids: list[int]) -> list["StanceView"]:
    """The cells of rectangles ``ids``, from the cache or read and built, in pair order.

    Sorted by a string key kept for each cell (``_SORT_KEYS``): Python compares plain strings
    several times faster than named tuples (a third of the time of sorting the cells
    themselves), and the probes answer in index order, not pair order. The cells not built
    before are built with the cyclic collector paused (``paused_collector``): they hold no
    cycles, and some 20,000 new objects per matrix made it run a full collection of the heap
    every few matrices, a third of a replay's time at a point not seen before. Callers get a
    list of their own."""
    matrix = tuple(ids)
    assembled = _MATRICES.get(matrix)
    if assembled is not None:
        return list(assembled)
    cells, keys = _CELLS, _SORT_KEYS
    missing = [interval_id for interval_id in ids if interval_id not in cells]
    if missing:
        if len(cells) + len(missing) > _CELLS_MAX:
            cells, keys = _new_caches()  # this matrix's cells are wanted at once: read them all
            missing = ids
        with paused_collector:
            _build(connection, values, missing, cells, keys)
    result = [cells[interval_id] for interval_id in sorted(ids, key=keys.__getitem__)]
    with _MATRICES_LOCK:  # replays in other threads evict too: one at a time
        if _MATRICES and len(_MATRICES) >= _MATRICES_MAX:
            del _MATRICES[next(iter(_MATRICES))]  # the oldest
        _MATRICES[matrix] = result
    return list(result)


def _new_caches() -> tuple[dict[int, "StanceView"], dict[int, str]]:
    """Empty cell caches in place of the full ones. Replaced, not cleared: a replay running in
    another thread goes on with the ones it started with, where every cell it found stays."""
    global _CELLS, _SORT_KEYS
    _CELLS, _SORT_KEYS = {}, {}
    return _CELLS, _SORT_KEYS


def _build(
    connection: Connection,
    values: SqliteValues,
    missing: list[int],
    cells: dict[int, "StanceView"],
    keys: dict[int, str],
) -> None:
    """Read the rectangles ``missing`` and put their cells in ``cells``, their sort keys in
    ``keys`` first: a replay in another thread that finds a cell finds its key."""
    if connection.dialect.name == "sqlite":
        reads = [
            (_BY_ID, {"ids": missing[start : start + _CHUNK]})
            for start in range(0, len(missing), _CHUNK)
        ]
    else:
        reads = [(_BY_ID_ARRAY, {"ids": Array(missing)})]
    for sql, params in reads:
        for row in run(connection, sql, params):
            keys[row[11]] = _pair_key(row[0], row[1])
            cells[row[11]] = _cell(values, row)


def _pair_key(actor_id: str, topic_id: str) -> str:
    """A string that sorts as (actor_id, topic_id) does: ids are slugs, so NUL, the least
    character, cannot occur in them and ends the actor id before any character of another."""
    return f"{actor_id}\0{topic_id}"


def _cell(values: SqliteValues, row: tuple[Any, ...]) -> "StanceView":
    return _view(values, row[0], row[1], row[2], row[3], row[4], row[5:10], row[10])


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
    """Stances as known now. The whole matrix is the replay at the end of valid time, the very
    same cells (the property tests hold the two together): the open rectangles of the
    interval tree, with the cells kept from earlier calls, so after a write only the pairs it
    moved are read again. Reading and joining the 5,000 rows of ``current_stances`` took 43 ms
    on SQLite and 85 ms on PostgreSQL on every call, the replay 2.5 and 4 ms. A filtered matrix
    reads its few rows of ``current_stances`` (``current_rows``)."""
    if actor_ids is None and topic_ids is None:
        return _replay(connection, as_of=_END_OF_TIME, known_at=None, filters=[], params={})
    return current_rows(connection, actor_ids=actor_ids, topic_ids=topic_ids)


def current_rows(
    connection: Connection,
    *,
    actor_ids: Sequence[str] | None = None,
    topic_ids: Sequence[str] | None = None,
) -> list[StanceView]:
    """Stances as known now, from the ``current_stances`` read model and the statement versions
    they rest on."""
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
