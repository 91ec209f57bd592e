"""Statements as they stand now, and every version each one went through."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from service.store.read_model_tables import ReadModelTables

_T = ReadModelTables.live()


@dataclass(frozen=True)
class StatementFilter:
    """What ``GET /v1/statements`` narrows by; None means any."""

    actor_id: str | None = None
    topic_id: str | None = None
    status: str | None = None
    stated_from: datetime | None = None
    stated_until: datetime | None = None


@dataclass(frozen=True)
class StatementVersionView:
    version_no: int
    actor_id: str
    topic_id: str
    stance: str
    quote: str
    stated_at: datetime
    kind: str
    source: dict[str, Any]
    status: str
    counts: bool
    reason: str | None
    caused_by_type: str
    caused_by_position: int
    known_from: datetime
    known_until: datetime | None


@dataclass(frozen=True)
class StatementView:
    """A statement as it stands now: its latest version, and where it entered the log."""

    statement_id: uuid.UUID
    actor_id: str
    topic_id: str
    stance: str
    score: int
    quote: str
    stated_at: datetime
    kind: str
    source: dict[str, Any]
    confidence: float
    method: str
    status: str
    counts: bool
    recorded_at: datetime
    recorded_position: int
    last_position: int
    versions: list[StatementVersionView]


def list_statements(
    connection: Connection,
    criteria: StatementFilter,
    *,
    after: int | None = None,
    limit: int = 50,
) -> list[StatementView]:
    """Statements in the order they were recorded; ``after`` is the last recorded_position seen."""
    versions = _T.statement_versions
    query = (
        select(versions)
        .where(versions.c.known_until_position.is_(None))
        .order_by(versions.c.recorded_position)
        .limit(limit)
    )
    if after is not None:
        query = query.where(versions.c.recorded_position > after)
    if criteria.actor_id is not None:
        query = query.where(versions.c.actor_id == criteria.actor_id)
    if criteria.topic_id is not None:
        query = query.where(versions.c.topic_id == criteria.topic_id)
    if criteria.status is not None:
        query = query.where(versions.c.status == criteria.status)
    if criteria.stated_from is not None:
        query = query.where(versions.c.stated_at >= criteria.stated_from)
    if criteria.stated_until is not None:
        query = query.where(versions.c.stated_at <= criteria.stated_until)
    return [_statement(row, []) for row in connection.execute(query).mappings()]


def get_statement(connection: Connection, statement_id: uuid.UUID) -> StatementView | None:
    """One statement with every version it went through, oldest first."""
    versions = _T.statement_versions
    rows = list(
        connection.execute(
            select(versions)
            .where(versions.c.statement_id == statement_id)
            .order_by(versions.c.version_no)
        ).mappings()
    )
    if not rows:
        return None
    return _statement(rows[-1], [_version(row) for row in rows])


def statements_on_pair(
    connection: Connection, actor_id: str, topic_id: str, *, limit: int = 500
) -> list[StatementView]:
    """Every statement that was ever on (actor, topic) in any version, each with all its
    versions, latest stated first; ``limit`` statements at most.

    A timeline needs the ones corrected away to another actor or topic too: the record once
    said them here, and a replay as known before the correction still does.
    """
    versions = _T.statement_versions
    on_pair = (
        select(versions.c.statement_id)
        .where(versions.c.actor_id == actor_id, versions.c.topic_id == topic_id)
        .group_by(versions.c.statement_id)
        .order_by(func.max(versions.c.stated_at).desc())
        .limit(limit)
    )
    rows = connection.execute(
        select(versions)
        .where(versions.c.statement_id.in_(on_pair))
        .order_by(versions.c.statement_id, versions.c.version_no)
    ).mappings()
    by_statement: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        by_statement.setdefault(row["statement_id"], []).append(row)
    found = [
        _statement(history[-1], [_version(row) for row in history])
        for history in by_statement.values()
    ]
    found.sort(key=lambda view: (view.stated_at, view.recorded_position), reverse=True)
    return found


def _statement(row: Any, history: list[StatementVersionView]) -> StatementView:
    return StatementView(
        statement_id=row["statement_id"],
        actor_id=row["actor_id"],
        topic_id=row["topic_id"],
        stance=row["stance"],
        score=row["score"],
        quote=row["quote"],
        stated_at=row["stated_at"],
        kind=row["kind"],
        source=row["source"],
        confidence=row["confidence"],
        method=row["method"],
        status=row["status"],
        counts=row["counts"],
        recorded_at=row["recorded_at"],
        recorded_position=row["recorded_position"],
        last_position=row["caused_by_position"],
        versions=history,
    )


def _version(row: Any) -> StatementVersionView:
    return StatementVersionView(
        version_no=row["version_no"],
        actor_id=row["actor_id"],
        topic_id=row["topic_id"],
        stance=row["stance"],
        quote=row["quote"],
        stated_at=row["stated_at"],
        kind=row["kind"],
        source=row["source"],
        status=row["status"],
        counts=row["counts"],
        reason=row["reason"],
        caused_by_type=row["caused_by_type"],
        caused_by_position=row["caused_by_position"],
        known_from=row["known_from"],
        known_until=row["known_until"],
    )
