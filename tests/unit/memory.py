"""An in-memory command layer over the pure domain: load a stream, act, append.

It plays the part of the real handlers and event store in unit tests, so the demo and the stance
rule can be exercised end to end without a database: every append gets the next position and a
recorded_at one second after the previous one, and an event id seen before is a no-op.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from uuid import UUID

from service.domain.catalog import (
    Actor,
    Topic,
    define_topic,
    load_actor,
    load_topic,
    register_actor,
)
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
from service.domain.events import DomainEvent, actor_stream, stream_for, topic_stream
from service.domain.replay import LoggedEvent
from service.domain.statements import (
    CatalogView,
    Statement,
    load_statement,
    record_statement,
)


class MemoryLog:
    def __init__(
        self, *, start: datetime, min_confidence: float, catalog: CatalogView | None = None
    ) -> None:
        """``catalog`` stands in for the actor and topic streams when a test has none."""
        self.catalog = catalog
        self.clock = start
        self.min_confidence = min_confidence
        self.entries: list[LoggedEvent] = []
        self.streams: dict[str, list[DomainEvent]] = defaultdict(list)
        self.event_ids: dict[UUID, LoggedEvent] = {}

    def has_actor(self, actor_id: str) -> bool:
        if self.catalog is not None:
            return self.catalog.has_actor(actor_id)
        return bool(self.streams.get(actor_stream(actor_id)))

    def has_topic(self, topic_id: str) -> bool:
        if self.catalog is not None:
            return self.catalog.has_topic(topic_id)
        return bool(self.streams.get(topic_stream(topic_id)))

    @property
    def last(self) -> LoggedEvent:
        return self.entries[-1]

    def execute(self, command: Command, *, event_id: UUID | None = None) -> LoggedEvent:
        """Run one command; with an ``event_id`` already in the log, return its entry unchanged."""
        if event_id is not None and event_id in self.event_ids:
            return self.event_ids[event_id]
        event = self._act(command, self.streams[target_stream(command)])
        return self.append(event, event_id=event_id)

    def append(self, event: DomainEvent, *, event_id: UUID | None = None) -> LoggedEvent:
        self.clock += timedelta(seconds=1)
        entry = LoggedEvent(position=len(self.entries) + 1, recorded_at=self.clock, event=event)
        self.entries.append(entry)
        self.streams[stream_for(event)].append(event)
        if event_id is not None:
            self.event_ids[event_id] = entry
        return entry

    def _act(self, command: Command, stream: list[DomainEvent]) -> DomainEvent:
        now = self.clock
        match command:
            case RegisterActor():
                return register_actor(
                    command, existing=Actor.from_events(stream) if stream else None
                )
            case UpdateActor():
                return load_actor(command.actor_id, stream).update(command)
            case DefineTopic():
                return define_topic(command, existing=Topic.from_events(stream) if stream else None)
            case UpdateTopic():
                return load_topic(command.topic_id, stream).update(command)
            case RecordStatement():
                existing = Statement.from_events(stream) if stream else None
                return record_statement(
                    command,
                    catalog=self,
                    now=now,
                    min_confidence=self.min_confidence,
                    existing=existing,
                )
            case CorrectStatement():
                statement = load_statement(command.statement_id, stream)
                return statement.correct(command, catalog=self, now=now)
            case ApproveStatement():
                return load_statement(command.statement_id, stream).approve(command)
            case RejectStatement():
                return load_statement(command.statement_id, stream).reject(command)
            case RetractStatement():
                return load_statement(command.statement_id, stream).retract(command)
        raise TypeError(f"unknown command {command!r}")
