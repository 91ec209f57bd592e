"""Builders shared by the projection tests: services on a test database, and the log as the
pure fold wants it."""

from service.config import Settings
from service.db import Database
from service.domain.events import decode
from service.domain.replay import LoggedEvent
from service.wiring import Services, build_services


def services_for(database: Database, *, min_confidence: float = 0.6) -> Services:
    return build_services(Settings(min_confidence=min_confidence), database)


def logged_events(services: Services) -> list[LoggedEvent]:
    """The whole log, decoded, as ``fold_stances`` takes it."""
    with services.database.read() as session:
        recorded = services.store.read_all(session, limit=10_000_000)
    return [LoggedEvent(e.position, e.recorded_at, decode(e.type, e.data)) for e in recorded]
