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
from service.store.driver_sql import SqliteValues, expand, run
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
    frozen dataclasses would cost more than the query."""

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
    "i.source, i.status, i.previous_stance, i.flip"
)
_VALID_AT = "i.valid_from <= :as_of AND (i.valid_until IS NULL OR i.valid_until > :as_of)"
_KNOWN_AT_POSITION = (
    "i.known_from_position <= :known AND "
    "(i.known_until_position IS NULL OR i.known_until_position > :known)"
)
_SQLITE_MATRIX = f"""
    SELECT {_INTERVAL_COLUMNS}
    FROM {interval_index.RTREE} r JOIN stance_intervals i ON i.interval_id = r.id
    WHERE r.valid_lo <= :valid AND r.valid_hi >= :valid
      AND r.known_lo <= :known AND r.known_hi > :known
      AND {_VALID_AT} AND {_KNOWN_AT_POSITION}
"""
_POSTGRES_MATRIX = f"""
    SELECT {_INTERVAL_COLUMNS}
    FROM stance_intervals i
    WHERE tstzrange(i.valid_from, i.valid_until) @> :as_of::timestamptz
      AND tstzrange(i.known_from, i.known_until) @> :known_at::timestamptz
      {{where}}
"""
_SQLITE_PAIRS = f"""
    SELECT {_INTERVAL_COLUMNS}
    FROM stance_intervals i
    WHERE {_VALID_AT} AND {_KNOWN_AT_POSITION} {{where}}
"""
_KNOWN_NOW = 1 << 53
"""The position standing for "known now": above every position, below the R*Tree's open end."""
_POSITION_KNOWN_AT = """
    SELECT position FROM events WHERE recorded_at <= :known_at
    ORDER BY recorded_at DESC, position DESC LIMIT 1
"""


def _replay(
    connection: Connection,
    *,
    as_of: datetime,
    known_at: datetime | None,
    filters: list[str],
    params: dict[str, Any],
) -> list[tuple[Any, ...]]:
    """The ``stance_intervals`` rectangles holding (as_of, known_at), at most one per pair, in
    (actor_id, topic_id) order: sorted here, which costs less than sorting the wide rows in SQL.

    On PostgreSQL a GiST probe on both time ranges. On SQLite the transaction time becomes the
    last log position recorded by then (recorded times never go down along the log, so "known
    at K" is "known after that position"); the whole matrix is an R*Tree probe, a few pairs a
    range of the pair index each.
    """
    where = "".join(f" AND {f}" for f in filters)
    params = {**params, "as_of": as_of, "known_at": known_at or _END_OF_TIME}
    if connection.dialect.name == "postgresql":
        return sorted(run(connection, _POSTGRES_MATRIX.format(where=where), params), key=_PAIR)
    if known_at is None:
        params["known"] = _KNOWN_NOW
    else:
        found = run(connection, _POSITION_KNOWN_AT, params)
        if not found:
            return []  # before the first event: nothing was known
        params["known"] = found[0][0]
    if filters:
        return sorted(run(connection, _SQLITE_PAIRS.format(where=where), params), key=_PAIR)
    params["valid"] = as_of.timestamp()
    return sorted(run(connection, _SQLITE_MATRIX, params), key=_PAIR)


_PAIR = itemgetter(0, 1)


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
    rows = _replay(
        connection, as_of=as_of or _END_OF_TIME, known_at=known_at, filters=filters, params=params
    )
    values = SqliteValues(connection.dialect.name == "sqlite")
    return [
        _view(values, row[0], row[1], row[2], row[3], row[4], row[5:10], row[10], row[11])
        for row in rows
    ]


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
    stated_at = values.time(since)
    statement_id, quote, kind, source, status = statement
    return StanceView(
        actor_id=actor_id,
        topic_id=topic_id,
        stance=stance,
        score=score,
        since=stated_at,
        previous_stance=previous,
        flip=_FLIPS[(previous, stance)] if flip is None else bool(flip),
        statement=StatementRef(
            values.uuid(statement_id), quote, stated_at, kind, values.json(source), status
        ),
    )


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
