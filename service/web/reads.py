"""What the pages read, through the read side's public functions, one connection per page."""

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection

from service.queries import ActorView, StanceView, TopicView, list_actors, list_topics, stances
from service.queries.record import Revision, StatementSpan, revisions, statement_span
from service.web.controls import MAX_REVISIONS

CATALOG_PAGE: Final = 1000


def all_actors(connection: Connection) -> list[ActorView]:
    found: list[ActorView] = []
    while page := list_actors(
        connection, after=found[-1].actor_id if found else None, limit=CATALOG_PAGE
    ):
        found.extend(page)
        if len(page) < CATALOG_PAGE:
            break
    return found


def all_topics(connection: Connection) -> list[TopicView]:
    found: list[TopicView] = []
    while page := list_topics(
        connection, after=found[-1].topic_id if found else None, limit=CATALOG_PAGE
    ):
        found.extend(page)
        if len(page) < CATALOG_PAGE:
            break
    return found


@dataclass(frozen=True)
class MatrixReads:
    actors: list[ActorView]
    topics: list[TopicView]
    stances: list[StanceView]
    span: StatementSpan
    revisions: list[Revision]


def read_matrix(
    connection: Connection, *, as_of: datetime | None, known_at: datetime | None
) -> MatrixReads:
    """The catalog, the matrix (one query, whatever its size), and what the controls need."""
    return MatrixReads(
        actors=all_actors(connection),
        topics=all_topics(connection),
        stances=stances(connection, as_of=as_of, known_at=known_at),
        span=statement_span(connection),
        revisions=revisions(connection, limit=MAX_REVISIONS),
    )
