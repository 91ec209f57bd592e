"""Builds the write side and the projector from the settings, for the CLI and the HTTP app."""

from collections.abc import Sequence
from dataclasses import dataclass

from service.commands import CommandBus, HandlerContext, new_store
from service.config import Settings
from service.db import Database
from service.projections.runner import ChangeHook, Projector
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


def default_change_hooks() -> list[ChangeHook]:
    """What runs inside the projector's transaction for each batch of stance changes: the
    webhook outbox, so a change is never lost and never announced without having happened."""
    from service.webhooks.outbox import write_outbox

    return [write_outbox]


def build_services(
    settings: Settings,
    database: Database | None = None,
    *,
    change_hooks: Sequence[ChangeHook] | None = None,
) -> Services:
    """Wire store, projector and command bus; every write is followed by a projector catch-up."""
    database = database or Database.from_settings(settings)
    store = new_store()
    hooks = default_change_hooks() if change_hooks is None else list(change_hooks)
    projector = Projector(
        database, store, batch_size=settings.projector_batch_size, change_hooks=hooks
    )
    bus = CommandBus(
        database=database,
        context=HandlerContext(store=store, min_confidence=settings.min_confidence),
        after_write=[lambda _position: projector.catch_up()],
    )
    return Services(database=database, store=store, projector=projector, bus=bus)
