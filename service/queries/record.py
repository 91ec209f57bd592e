"""The extent of the record in both times: the span of valid time its statements cover, and the
moments in transaction time when it was revised (corrections and retractions).

A replay control needs both: a date slider over the statements' span, and the instants just
before each revision, where "known at" shows the record as it stood before it was fixed.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, func, select

from service.store.read_model_tables import ReadModelTables
from service.store.tables import events_table

_T = ReadModelTables.live()

REVISION_TYPES: Final = ("StatementCorrected", "StatementRetracted")
JUST_BEFORE: Final = timedelta(microseconds=1)
"""Transaction times are kept to the microsecond, so this instant precedes a revision."""


@dataclass(frozen=True)
class StatementSpan:
    """The earliest and latest ``stated_at`` of any statement version; None when there is none."""

    first_stated_at: datetime | None
    last_stated_at: datetime | None


@dataclass(frozen=True)
class Revision:
    """A correction or retraction, with the statement as it stood after it."""

    position: int
    event_type: str
    recorded_at: datetime
    statement_id: uuid.UUID
    actor_id: str
    topic_id: str
    quote: str
    reason: str | None

    @property
    def known_just_before(self) -> datetime:
        """The ``known_at`` that shows the record as it stood before this revision."""
        return self.recorded_at - JUST_BEFORE


def statement_span(connection: Connection) -> StatementSpan:
    """The valid-time span of the record, for a date control over it.

    Per pair, the first and last ``stated_at`` are one seek each on the pair's listing index,
    where a plain ``min``/``max`` over the table would read every version of every statement.
    """
    versions, pairs = _T.statement_versions, _T.stance_pairs

    def edge(aggregate: Any) -> Any:
        return (
            select(aggregate(versions.c.stated_at))
            .where(versions.c.actor_id == pairs.c.actor_id, versions.c.topic_id == pairs.c.topic_id)
            .scalar_subquery()
        )

    per_pair = (
        select(edge(func.min).label("first_stated_at"), edge(func.max).label("last_stated_at"))
        .select_from(pairs)
        .subquery()
    )
    row = connection.execute(
        select(func.min(per_pair.c.first_stated_at), func.max(per_pair.c.last_stated_at))
    ).one()
    return StatementSpan(first_stated_at=row[0], last_stated_at=row[1])


def revisions(connection: Connection, *, limit: int) -> list[Revision]:
    """The latest ``limit`` corrections and retractions, oldest first.

    Found through the log's (type, position) index; each joins the statement version it made.
    """
    versions, events = _T.statement_versions, events_table
    query = (
        select(
            events.c.position,
            events.c.type,
            events.c.recorded_at,
            versions.c.statement_id,
            versions.c.actor_id,
            versions.c.topic_id,
            versions.c.quote,
            versions.c.reason,
        )
        .join(versions, versions.c.caused_by_position == events.c.position)
        .where(events.c.type.in_(REVISION_TYPES))
        .order_by(events.c.position.desc())
        .limit(limit)
    )
    found = [
        Revision(
            position=row.position,
            event_type=row.type,
            recorded_at=row.recorded_at,
            statement_id=row.statement_id,
            actor_id=row.actor_id,
            topic_id=row.topic_id,
            quote=row.quote,
            reason=row.reason,
        )
        for row in connection.execute(query)
    ]
    found.reverse()
    return found
