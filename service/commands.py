"""The write side: one handler per command (load the aggregate, act, save its event).

Handlers only flush; ``CommandBus.execute`` owns the transaction, retries a command whose stream
moved under it (the guards are checked again against the new state), then brings the read models
up to date so the writer's next read sees its write.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from service.db import Database
from service.domain import catalog, statements
from service.domain.commands import (
    ApproveStatement,
    Command,
    CorrectStatement,
    DefineTopic,
    RecordStatement,
    RegisterActor,
    RejectStatement,
    RetractStatement,
    UpdateActor,
    UpdateTopic,
    target_stream,
)
from service.domain.events import (
    UPCASTERS,
    DomainEvent,
    actor_stream,
    decode,
    encode,
    topic_stream,
)
from service.domain.ids import uuid7
from service.store.event_store import (
    NO_STREAM,
    ConcurrencyError,
    EventIdConflict,
    EventStore,
    NewEvent,
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_store() -> EventStore:
    """The event store with the domain's upcasters: the only way the service builds one."""
    return EventStore(UPCASTERS)


@dataclass(frozen=True)
class CommandResult:
    """Where the command's event landed; ``duplicate`` when it was an idempotent retry."""

    stream_id: str
    position: int
    stream_version: int
    duplicate: bool


@dataclass
class HandlerContext:
    """What a handler needs besides the session and the command."""

    store: EventStore
    min_confidence: float
    clock: Clock = utc_now


class _StoreCatalog:
    """The catalog as the log knows it: an actor exists when its stream does."""

    def __init__(self, session: Session, store: EventStore) -> None:
        self._session, self._store = session, store
        self._known: dict[str, bool] = {}

    def _exists(self, stream_id: str) -> bool:
        if stream_id not in self._known:
            self._known[stream_id] = self._store.stream_version(self._session, stream_id) >= 0
        return self._known[stream_id]

    def has_actor(self, actor_id: str) -> bool:
        return self._exists(actor_stream(actor_id))

    def has_topic(self, topic_id: str) -> bool:
        return self._exists(topic_stream(topic_id))


def _load(session: Session, store: EventStore, stream_id: str) -> tuple[list[DomainEvent], int]:
    recorded = store.read_stream(session, stream_id)
    version = recorded[-1].version if recorded else NO_STREAM
    return [decode(e.type, e.data) for e in recorded], version


def _decide(session: Session, ctx: HandlerContext, command: Command) -> tuple[DomainEvent, int]:
    """Load the command's aggregate and let it decide the event (guards raise domain errors)."""
    stream_id = target_stream(command)
    history, version = _load(session, ctx.store, stream_id)
    now = ctx.clock()
    known = _StoreCatalog(session, ctx.store)
    event: DomainEvent
    if isinstance(command, RegisterActor):
        existing = catalog.Actor.from_events(history) if history else None
        event = catalog.register_actor(command, existing=existing)
    elif isinstance(command, UpdateActor):
        event = catalog.load_actor(command.actor_id, history).update(command)
    elif isinstance(command, DefineTopic):
        existing_topic = catalog.Topic.from_events(history) if history else None
        event = catalog.define_topic(command, existing=existing_topic)
    elif isinstance(command, UpdateTopic):
        event = catalog.load_topic(command.topic_id, history).update(command)
    elif isinstance(command, RecordStatement):
        existing_statement = statements.Statement.from_events(history) if history else None
        event = statements.record_statement(
            command,
            catalog=known,
            now=now,
            min_confidence=ctx.min_confidence,
            existing=existing_statement,
        )
    else:
        statement = statements.load_statement(command.statement_id, history)
        if isinstance(command, CorrectStatement):
            event = statement.correct(command, catalog=known, now=now)
        elif isinstance(command, RetractStatement):
            event = statement.retract(command)
        elif isinstance(command, ApproveStatement):
            event = statement.approve(command)
        else:
            assert isinstance(command, RejectStatement)
            event = statement.reject(command)
    return event, version


def handle(
    session: Session,
    ctx: HandlerContext,
    command: Command,
    *,
    event_id: uuid.UUID | None = None,
    metadata: dict[str, Any] | None = None,
) -> CommandResult:
    """Load, act, save. With ``event_id``, a command already carried out answers as before."""
    stream_id = target_stream(command)
    if event_id is not None:
        replay = _already_stored(session, ctx.store, event_id, stream_id)
        if replay is not None:
            return replay
    event, version = _decide(session, ctx, command)
    event_type, data = encode(event)
    result = ctx.store.append(
        session,
        stream_id=stream_id,
        expected_version=version,
        events=[NewEvent(event_type, data, event_id or uuid7(), metadata or {})],
    )
    return CommandResult(stream_id, result.positions[0], result.stream_version, result.duplicate)


def _already_stored(
    session: Session, store: EventStore, event_id: uuid.UUID, stream_id: str
) -> CommandResult | None:
    found = store.read_by_ids(session, [event_id])
    if not found:
        return None
    stored = found[0]
    if stored.stream_id != stream_id:
        raise EventIdConflict(event_id, f"it was used for {stored.stream_id}, not {stream_id}")
    return CommandResult(stream_id, stored.position, stored.version, duplicate=True)


AfterWrite = Callable[[int], None]


@dataclass
class CommandBus:
    """Runs commands in their own transactions, then lets the read models catch up."""

    database: Database
    context: HandlerContext
    after_write: Sequence[AfterWrite] = field(default_factory=list)
    retries: int = 5

    def execute(
        self,
        command: Command,
        *,
        event_id: uuid.UUID | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> CommandResult:
        for attempt in range(self.retries + 1):
            try:
                with self.database.write() as session:
                    result = handle(
                        session, self.context, command, event_id=event_id, metadata=metadata
                    )
                break
            except ConcurrencyError:
                if attempt == self.retries:
                    raise
        for hook in self.after_write:
            hook(result.position)
        return result

    def execute_all(
        self, commands: Sequence[tuple[Command, uuid.UUID | None]], *, metadata: dict[str, Any]
    ) -> list[CommandResult]:
        """Several commands, each in its own transaction (the demo loader, imports)."""
        return [self.execute(c, event_id=e, metadata=metadata) for c, e in commands]
