"""The read side: current stances, replay as of a valid time and as known at a transaction time.

Every answer is one indexed query on the read models, never a walk over the log. Current stances
come from ``current_stances``. A replay asks, per (actor, topic) pair, for the counting statement
version believed at ``known_at`` with the greatest ``stated_at`` not after ``as_of``: one backward
scan of the partial index ``ix_statement_versions_stance_rule`` per pair.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from service.domain.stances import Stance, is_flip
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


_VERSION_COLUMNS = (
    "v.actor_id, v.topic_id, v.stance, v.score, v.stated_at, v.statement_id, v.quote, v.kind, "
    "v.source, v.status, v.recorded_position"
)
_BELIEVED_AT = (
    "{a}.known_from <= :known_at AND ({a}.known_until IS NULL OR {a}.known_until > :known_at)"
)
_OPEN = "{a}.known_until IS NULL"


def _replay_sql(
    *, known_at_given: bool, actor_filter: bool, topic_filter: bool, postgres: bool = False
) -> str:
    """The replay query. On PostgreSQL the per-pair lookups are LATERAL joins, which the planner
    runs once per pair; a scalar subquery in a derived table would be inlined and run twice."""
    believed = _BELIEVED_AT if known_at_given else _OPEN
    filters = []
    if actor_filter:
        filters.append("p.actor_id IN :actor_ids")
    if topic_filter:
        filters.append("p.topic_id IN :topic_ids")
    where = f"WHERE {' AND '.join(filters)}" if filters else ""
    chosen = f"""SELECT u.caused_by_position FROM statement_versions u
                   WHERE u.actor_id = p.actor_id AND u.topic_id = p.topic_id AND u.counts
                     AND u.stated_at <= :as_of AND {believed.format(a="u")}
                   ORDER BY u.stated_at DESC, u.recorded_position DESC LIMIT 1"""
    previous = f"""SELECT w.stance FROM statement_versions w
            WHERE w.actor_id = v.actor_id AND w.topic_id = v.topic_id AND w.counts
              AND {believed.format(a="w")}
              AND (w.stated_at, w.recorded_position) < (v.stated_at, v.recorded_position)
              AND w.stance <> v.stance
            ORDER BY w.stated_at DESC, w.recorded_position DESC LIMIT 1"""
    if postgres:
        return f"""
            SELECT {_VERSION_COLUMNS}, prev.stance AS previous_stance
            FROM stance_pairs p
            CROSS JOIN LATERAL ({chosen}) best
            JOIN statement_versions v ON v.caused_by_position = best.caused_by_position
            LEFT JOIN LATERAL ({previous}) prev ON true
            {where}
            ORDER BY p.actor_id, p.topic_id
        """
    return f"""
        SELECT {_VERSION_COLUMNS}, ({previous}) AS previous_stance
        FROM (SELECT p.actor_id, p.topic_id, ({chosen}) AS chosen FROM stance_pairs p {where}) best
        JOIN statement_versions v ON v.caused_by_position = best.chosen
        ORDER BY best.actor_id, best.topic_id
    """


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
    sql = _replay_sql(
        known_at_given=known_at is not None,
        actor_filter=actor_ids is not None,
        topic_filter=topic_ids is not None,
        postgres=connection.dialect.name == "postgresql",
    )
    params: dict[str, Any] = {"as_of": as_of or _END_OF_TIME, "known_at": known_at}
    if actor_ids is not None:
        params["actor_ids"] = expand(actor_ids)
    if topic_ids is not None:
        params["topic_ids"] = expand(topic_ids)
    values = SqliteValues(connection.dialect.name == "sqlite")
    return [
        _view(values, row[0], row[1], row[2], row[3], row[4], row[5:10], row[11])
        for row in run(connection, sql, params)
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
