"""Commands: what a caller asks the domain to do, named as imperatives.

Commands carry raw input (a stance may still be a string, a list may have duplicates); the
aggregates validate and normalise it into events. Fields an update or correction leaves alone
default to ``UNCHANGED``, so a partial request body maps straight onto a command:
``UpdateActor(actor_id=..., **patch.model_dump(exclude_unset=True))``.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from service.domain.events import actor_stream, statement_stream, topic_stream
from service.domain.stances import Stance
from service.domain.values import (
    UNCHANGED,
    ActorKind,
    RecordingMethod,
    Source,
    StanceCues,
    StatementKind,
    Unchanged,
)

CuesInput = StanceCues | Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class RegisterActor:
    actor_id: str
    name: str
    kind: ActorKind | str
    country: str | None
    role: str | None = None
    aliases: Sequence[str] = ()
    wikidata_id: str | None = None


@dataclass(frozen=True)
class UpdateActor:
    actor_id: str
    name: str | Unchanged = UNCHANGED
    kind: ActorKind | str | Unchanged = UNCHANGED
    country: str | Unchanged | None = UNCHANGED
    role: str | Unchanged | None = UNCHANGED
    aliases: Sequence[str] | Unchanged = UNCHANGED
    wikidata_id: str | Unchanged | None = UNCHANGED


@dataclass(frozen=True)
class DefineTopic:
    topic_id: str
    title: str
    proposition: str
    keywords: Sequence[str] = ()
    cues: CuesInput = field(default_factory=StanceCues)


@dataclass(frozen=True)
class UpdateTopic:
    topic_id: str
    title: str | Unchanged = UNCHANGED
    proposition: str | Unchanged = UNCHANGED
    keywords: Sequence[str] | Unchanged = UNCHANGED
    cues: CuesInput | Unchanged = UNCHANGED


@dataclass(frozen=True)
class RecordStatement:
    """Record a position; the caller chooses ``statement_id`` so that retries are idempotent."""

    statement_id: UUID
    actor_id: str
    topic_id: str
    stance: Stance | str
    quote: str
    stated_at: datetime
    kind: StatementKind | str
    source: Source
    confidence: float = 1.0
    method: RecordingMethod | str = RecordingMethod.MANUAL


@dataclass(frozen=True)
class ApproveStatement:
    statement_id: UUID
    note: str | None = None


@dataclass(frozen=True)
class RejectStatement:
    statement_id: UUID
    reason: str


@dataclass(frozen=True)
class CorrectStatement:
    """Fix the record; ``reason`` should cite what shows the record was wrong."""

    statement_id: UUID
    reason: str
    stance: Stance | str | Unchanged = UNCHANGED
    stated_at: datetime | Unchanged = UNCHANGED
    actor_id: str | Unchanged = UNCHANGED
    topic_id: str | Unchanged = UNCHANGED
    quote: str | Unchanged = UNCHANGED
    source: Source | Unchanged = UNCHANGED
    kind: StatementKind | str | Unchanged = UNCHANGED


@dataclass(frozen=True)
class RetractStatement:
    statement_id: UUID
    reason: str


Command = (
    RegisterActor
    | UpdateActor
    | DefineTopic
    | UpdateTopic
    | RecordStatement
    | ApproveStatement
    | RejectStatement
    | CorrectStatement
    | RetractStatement
)


def target_stream(command: Command) -> str:
    """The stream a command's event is appended to: the one stream its handler loads and saves."""
    if isinstance(command, RegisterActor | UpdateActor):
        return actor_stream(command.actor_id)
    if isinstance(command, DefineTopic | UpdateTopic):
        return topic_stream(command.topic_id)
    return statement_stream(command.statement_id)
