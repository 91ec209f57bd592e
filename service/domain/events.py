"""Events: the facts the log holds, their streams, and their encoding for the event store.

Events are small frozen classes named in the past tense. They carry decisions, not inputs: a
statement records whether it needed review when it was recorded, so replaying the log gives the same
answer whatever today's settings say. Payloads change only through ``UPCASTERS``; the log is never
rewritten.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from service.domain.codec import PayloadError, from_json, to_json
from service.domain.errors import InvalidEventPayload, UnknownEventType
from service.domain.stances import Stance
from service.domain.upcasting import UpcasterRegistry, UpcastError
from service.domain.values import (
    UNCHANGED,
    ActorKind,
    RecordingMethod,
    Source,
    StanceCues,
    StatementKind,
    Unchanged,
)

__all__ = [
    "EVENT_TYPES",
    "UPCASTERS",
    "ActorChanges",
    "ActorRegistered",
    "ActorUpdated",
    "DomainEvent",
    "Source",
    "StanceCues",
    "StatementApproved",
    "StatementChanges",
    "StatementCorrected",
    "StatementRecorded",
    "StatementRejected",
    "StatementRetracted",
    "TopicChanges",
    "TopicDefined",
    "TopicUpdated",
    "actor_stream",
    "changed_fields",
    "decode",
    "encode",
    "statement_stream",
    "stream_for",
    "topic_stream",
]


@dataclass(frozen=True)
class ActorRegistered:
    """An actor entered the catalog; aliases let extraction find other spellings of the name."""

    actor_id: str
    name: str
    kind: ActorKind
    country: str | None
    role: str | None
    aliases: tuple[str, ...]
    wikidata_id: str | None


@dataclass(frozen=True)
class ActorChanges:
    """The actor fields an update sets; the rest are ``UNCHANGED`` (absent from the payload)."""

    name: str | Unchanged = UNCHANGED
    kind: ActorKind | Unchanged = UNCHANGED
    country: str | Unchanged | None = UNCHANGED
    role: str | Unchanged | None = UNCHANGED
    aliases: tuple[str, ...] | Unchanged = UNCHANGED
    wikidata_id: str | Unchanged | None = UNCHANGED


@dataclass(frozen=True)
class ActorUpdated:
    actor_id: str
    changes: ActorChanges


@dataclass(frozen=True)
class TopicDefined:
    """A topic entered the catalog; stances are relative to its ``proposition``."""

    topic_id: str
    title: str
    proposition: str
    keywords: tuple[str, ...]
    cues: StanceCues


@dataclass(frozen=True)
class TopicChanges:
    title: str | Unchanged = UNCHANGED
    proposition: str | Unchanged = UNCHANGED
    keywords: tuple[str, ...] | Unchanged = UNCHANGED
    cues: StanceCues | Unchanged = UNCHANGED


@dataclass(frozen=True)
class TopicUpdated:
    topic_id: str
    changes: TopicChanges


@dataclass(frozen=True)
class StatementRecorded:
    """A position entered the record; ``stated_at`` is valid time (when it was said).

    ``requires_review`` freezes the review decision taken with the settings of the day, so a
    replay years later counts exactly what counted then.
    """

    statement_id: UUID
    actor_id: str
    topic_id: str
    stance: Stance
    quote: str
    stated_at: datetime
    kind: StatementKind
    source: Source
    confidence: float
    method: RecordingMethod
    requires_review: bool


@dataclass(frozen=True)
class StatementApproved:
    """A reviewer accepted a statement that was waiting for review; from here it counts."""

    statement_id: UUID
    note: str | None


@dataclass(frozen=True)
class StatementRejected:
    """A reviewer refused a statement that was waiting for review; it never counts."""

    statement_id: UUID
    reason: str


@dataclass(frozen=True)
class StatementChanges:
    """The statement fields a correction sets; the rest are ``UNCHANGED``."""

    stance: Stance | Unchanged = UNCHANGED
    stated_at: datetime | Unchanged = UNCHANGED
    actor_id: str | Unchanged = UNCHANGED
    topic_id: str | Unchanged = UNCHANGED
    quote: str | Unchanged = UNCHANGED
    source: Source | Unchanged = UNCHANGED
    kind: StatementKind | Unchanged = UNCHANGED


@dataclass(frozen=True)
class StatementCorrected:
    """The record was wrong; ``changes`` lists only the fields that really changed."""

    statement_id: UUID
    changes: StatementChanges
    reason: str


@dataclass(frozen=True)
class StatementRetracted:
    """The statement should never have been recorded; it stops counting, and that is final."""

    statement_id: UUID
    reason: str


DomainEvent = (
    ActorRegistered
    | ActorUpdated
    | TopicDefined
    | TopicUpdated
    | StatementRecorded
    | StatementApproved
    | StatementRejected
    | StatementCorrected
    | StatementRetracted
)

EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        ActorRegistered,
        ActorUpdated,
        TopicDefined,
        TopicUpdated,
        StatementRecorded,
        StatementApproved,
        StatementRejected,
        StatementCorrected,
        StatementRetracted,
    )
}

UPCASTERS = UpcasterRegistry()


def actor_stream(actor_id: str) -> str:
    return f"actor-{actor_id}"


def topic_stream(topic_id: str) -> str:
    return f"topic-{topic_id}"


def statement_stream(statement_id: UUID) -> str:
    return f"statement-{statement_id}"


def stream_for(event: DomainEvent) -> str:
    """The stream an event belongs to, so writers never spell stream names by hand."""
    if isinstance(event, ActorRegistered | ActorUpdated):
        return actor_stream(event.actor_id)
    if isinstance(event, TopicDefined | TopicUpdated):
        return topic_stream(event.topic_id)
    return statement_stream(event.statement_id)


def encode(event: DomainEvent) -> tuple[str, dict[str, Any]]:
    """(type name, JSON-safe payload) for the store; the schema version is
    ``UPCASTERS.current_version(type name)``."""
    return type(event).__name__, cast(dict[str, Any], to_json(event))


def decode(
    event_type: str, data: dict[str, Any], *, schema_version: int | None = None
) -> DomainEvent:
    """Rebuild an event from the store; with ``schema_version``, older payloads are upcast first."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventType(f"unknown event type {event_type!r}", field="type")
    try:
        if schema_version is not None:
            _, data = UPCASTERS.upcast(event_type, schema_version, data)
        event: DomainEvent = from_json(cls, data)
    except UpcastError as error:
        raise InvalidEventPayload(str(error), field="schema_version") from None
    except PayloadError as error:
        raise InvalidEventPayload(f"{event_type}: {error}", field=error.path or None) from None
    return event


def changed_fields(changes: ActorChanges | TopicChanges | StatementChanges) -> dict[str, Any]:
    """The fields a change set really sets, by name; ``UNCHANGED`` ones are left out."""
    return {
        name: value
        for name in changes.__dataclass_fields__
        if (value := getattr(changes, name)) is not UNCHANGED
    }
