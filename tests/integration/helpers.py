"""Builders shared by the projection tests: services on a test database, and the log as the
pure fold wants it."""

import uuid
from datetime import datetime

from service.config import Settings
from service.db import Database
from service.domain.commands import DefineTopic, RecordStatement, RegisterActor
from service.domain.events import decode
from service.domain.replay import LoggedEvent
from service.domain.values import Source
from service.wiring import Services, build_services


def services_for(database: Database, *, min_confidence: float = 0.6) -> Services:
    return build_services(Settings(min_confidence=min_confidence), database)


def logged_events(services: Services) -> list[LoggedEvent]:
    """The whole log, decoded, as ``fold_stances`` takes it."""
    with services.database.read() as session:
        recorded = services.store.read_all(session, limit=10_000_000)
    return [LoggedEvent(e.position, e.recorded_at, decode(e.type, e.data)) for e in recorded]


def two_actors_one_topic(services: Services, country: str) -> None:
    """Actors a1 and a2 and topic t1: two pairs on one topic."""
    for actor in ("a1", "a2"):
        services.bus.execute(RegisterActor(actor, actor.upper(), "person", country))
    services.bus.execute(DefineTopic("t1", "T1", "t1 is right"))


def record_numbered(
    services: Services,
    statement_id: uuid.UUID,
    n: int,
    *,
    stance: str,
    stated_at: datetime,
    source: Source,
    confidence: float,
) -> None:
    """Statement number ``n`` on t1, by a1 or a2 in turn, quoted as "quote n"."""
    services.bus.execute(
        RecordStatement(
            statement_id=statement_id,
            actor_id=f"a{1 + n % 2}",
            topic_id="t1",
            stance=stance,
            quote=f"quote {n}",
            stated_at=stated_at,
            kind="paraphrase",
            source=source,
            confidence=confidence,
        )
    )
