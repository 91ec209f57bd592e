"""Builds the write side and the projector from the settings, for the CLI and the HTTP app."""

from dataclasses import dataclass

from service.commands import CommandBus, HandlerContext, new_store
from service.config import Settings
from service.db import Database
from service.projections.runner import Projector
from service.store.event_store import EventStore


@dataclass
class Services:
    """The objects a process needs to write and to keep its read models current."""

    database: Database
    store: EventStore
    projector: Projector
    bus: CommandBus

    def close(self) -> None:
        self.database.dispose()


def build_services(settings: Settings, database: Database | None = None) -> Services:
    """Wire store, projector and command bus; every write is followed by a projector catch-up."""
    database = database or Database.from_settings(settings)
    store = new_store()
    projector = Projector(database, store, batch_size=settings.projector_batch_size)
    bus = CommandBus(
        database=database,
        context=HandlerContext(store=store, min_confidence=settings.min_confidence),
        after_write=[lambda _position: projector.catch_up()],
    )
    return Services(database=database, store=store, projector=projector, bus=bus)
