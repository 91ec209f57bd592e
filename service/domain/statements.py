"""The Statement aggregate: one actor's position on one topic, as a source reported it.

A statement's life is its own stream: recorded, then perhaps reviewed, corrected or retracted. Each
method checks a command against the current state and returns the event to record; state changes
only in ``apply``, so a statement rebuilt from its stream is exactly the one the checks saw.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from service.domain.commands import (
    ApproveStatement,
    CorrectStatement,
    RecordStatement,
    RejectStatement,
    RetractStatement,
)
from service.domain.errors import (
    InvalidField,
    NotAwaitingReview,
    StatementAlreadyRecorded,
    StatementIsRetracted,
    UnknownActor,
    UnknownStatement,
    UnknownTopic,
)
from service.domain.events import (
    DomainEvent,
    StatementApproved,
    StatementChanges,
    StatementCorrected,
    StatementRecorded,
    StatementRejected,
    StatementRetracted,
    changed_fields,
)
from service.domain.stances import Stance, parse_stance
from service.domain.validation import (
    check_confidence,
    check_quote,
    check_source,
    check_stated_at,
    check_text,
    optional_text,
    parse_choice,
)
from service.domain.values import UNCHANGED, RecordingMethod, Source, StatementKind


class StatementStatus(StrEnum):
    """Only ``accepted`` statements count towards a stance."""

    ACCEPTED = "accepted"
    PENDING = "pending"
    REJECTED = "rejected"
    RETRACTED = "retracted"


class CatalogView(Protocol):
    """What a statement needs to know about the catalog: that its actor and topic exist."""

    def has_actor(self, actor_id: str) -> bool: ...

    def has_topic(self, topic_id: str) -> bool: ...


@dataclass(frozen=True)
class KnownIds:
    """A catalog view over fixed sets of ids, for tests, imports and the demo."""

    actor_ids: frozenset[str]
    topic_ids: frozenset[str]

    def has_actor(self, actor_id: str) -> bool:
        return actor_id in self.actor_ids

    def has_topic(self, topic_id: str) -> bool:
        return topic_id in self.topic_ids


def record_statement(
    cmd: RecordStatement,
    *,
    catalog: CatalogView,
    now: datetime,
    min_confidence: float,
    existing: "Statement | None" = None,
) -> StatementRecorded:
    """Check a new statement; below ``min_confidence`` it waits for review instead of counting.

    ``existing`` is the statement the id already names, if any: ids come from clients, so a reused
    id is refused rather than silently merged.
    """
    if existing is not None:
        raise StatementAlreadyRecorded(f"statement {cmd.statement_id} is already recorded")
    confidence = check_confidence(cmd.confidence)
    return StatementRecorded(
        statement_id=cmd.statement_id,
        actor_id=_known_actor(catalog, cmd.actor_id),
        topic_id=_known_topic(catalog, cmd.topic_id),
        stance=parse_stance(cmd.stance),
        quote=check_quote(cmd.quote),
        stated_at=check_stated_at(cmd.stated_at, now=now),
        kind=parse_choice(StatementKind, cmd.kind, field="kind"),
        source=check_source(cmd.source),
        confidence=confidence,
        method=parse_choice(RecordingMethod, cmd.method, field="method"),
        requires_review=confidence < min_confidence,
    )


_LATER_EVENTS = (StatementApproved, StatementRejected, StatementCorrected, StatementRetracted)


@dataclass
class Statement:
    """A statement's state as of its latest event; ``version`` is the number of events minus one."""

    statement_id: UUID
    actor_id: str
    topic_id: str
    stance: Stance
    stated_at: datetime
    quote: str
    source: Source
    kind: StatementKind
    confidence: float
    method: RecordingMethod
    status: StatementStatus
    version: int = 0

    @property
    def counts(self) -> bool:
        """Whether the stance rule takes this statement into account."""
        return self.status is StatementStatus.ACCEPTED

    @classmethod
    def from_events(cls, events: Sequence[DomainEvent]) -> "Statement":
        """Rebuild a statement from its stream, oldest event first."""
        if not events or not isinstance(events[0], StatementRecorded):
            raise ValueError("a statement stream starts with StatementRecorded")
        recorded = events[0]
        statement = cls(
            statement_id=recorded.statement_id,
            actor_id=recorded.actor_id,
            topic_id=recorded.topic_id,
            stance=recorded.stance,
            stated_at=recorded.stated_at,
            quote=recorded.quote,
            source=recorded.source,
            kind=recorded.kind,
            confidence=recorded.confidence,
            method=recorded.method,
            status=StatementStatus.PENDING
            if recorded.requires_review
            else StatementStatus.ACCEPTED,
        )
        for event in events[1:]:
            statement.apply(event)
        return statement

    def apply(self, event: DomainEvent) -> None:
        if not isinstance(event, _LATER_EVENTS) or event.statement_id != self.statement_id:
            raise ValueError(f"{type(event).__name__} does not apply to {self.statement_id}")
        if isinstance(event, StatementApproved):
            self.status = StatementStatus.ACCEPTED
        elif isinstance(event, StatementRejected):
            self.status = StatementStatus.REJECTED
        elif isinstance(event, StatementRetracted):
            self.status = StatementStatus.RETRACTED
        elif isinstance(event, StatementCorrected):
            for name, value in changed_fields(event.changes).items():
                setattr(self, name, value)
        self.version += 1

    def correct(
        self, cmd: CorrectStatement, *, catalog: CatalogView, now: datetime
    ) -> StatementCorrected:
        """Record only the fields that really change; the status stays as it is.

        A rejected statement may be corrected (the record of what was said is still worth fixing)
        but stays rejected; only a retraction is final.
        """
        self._check_same(cmd.statement_id)
        self._check_not_retracted("corrected")
        reason = check_text(cmd.reason, field="reason")
        proposed: dict[str, Any] = {}
        if cmd.stance is not UNCHANGED:
            proposed["stance"] = parse_stance(cmd.stance)
        if cmd.stated_at is not UNCHANGED:
            proposed["stated_at"] = check_stated_at(cmd.stated_at, now=now)
        if cmd.actor_id is not UNCHANGED:
            proposed["actor_id"] = _known_actor(catalog, cmd.actor_id)
        if cmd.topic_id is not UNCHANGED:
            proposed["topic_id"] = _known_topic(catalog, cmd.topic_id)
        if cmd.quote is not UNCHANGED:
            proposed["quote"] = check_quote(cmd.quote)
        if cmd.source is not UNCHANGED:
            proposed["source"] = check_source(cmd.source)
        if cmd.kind is not UNCHANGED:
            proposed["kind"] = parse_choice(StatementKind, cmd.kind, field="kind")
        changes = {name: value for name, value in proposed.items() if getattr(self, name) != value}
        if not changes:
            raise InvalidField(f"the correction changes nothing on statement {self.statement_id}")
        return StatementCorrected(
            statement_id=self.statement_id, changes=StatementChanges(**changes), reason=reason
        )

    def retract(self, cmd: RetractStatement) -> StatementRetracted:
        self._check_same(cmd.statement_id)
        self._check_not_retracted("retracted")
        return StatementRetracted(
            statement_id=self.statement_id, reason=check_text(cmd.reason, field="reason")
        )

    def approve(self, cmd: ApproveStatement) -> StatementApproved:
        self._check_same(cmd.statement_id)
        self._check_pending("approved")
        return StatementApproved(
            statement_id=self.statement_id, note=optional_text(cmd.note, field="note")
        )

    def reject(self, cmd: RejectStatement) -> StatementRejected:
        self._check_same(cmd.statement_id)
        self._check_pending("rejected")
        return StatementRejected(
            statement_id=self.statement_id, reason=check_text(cmd.reason, field="reason")
        )

    def _check_same(self, statement_id: UUID) -> None:
        if statement_id != self.statement_id:
            raise ValueError(f"command for {statement_id} sent to statement {self.statement_id}")

    def _check_not_retracted(self, action: str) -> None:
        if self.status is StatementStatus.RETRACTED:
            raise StatementIsRetracted(
                f"statement {self.statement_id} is retracted and cannot be {action}"
            )

    def _check_pending(self, action: str) -> None:
        if self.status is not StatementStatus.PENDING:
            raise NotAwaitingReview(
                f"statement {self.statement_id} is {self.status}, not pending, "
                f"and cannot be {action}"
            )


def load_statement(statement_id: UUID, events: Sequence[DomainEvent]) -> Statement:
    """The statement behind a stream, or ``UnknownStatement`` when the stream is empty."""
    if not events:
        raise UnknownStatement(f"unknown statement {statement_id}")
    return Statement.from_events(events)


def _known_actor(catalog: CatalogView, actor_id: str) -> str:
    if not isinstance(actor_id, str) or not catalog.has_actor(actor_id):
        raise UnknownActor(f"unknown actor {actor_id!r}")
    return actor_id


def _known_topic(catalog: CatalogView, topic_id: str) -> str:
    if not isinstance(topic_id, str) or not catalog.has_topic(topic_id):
        raise UnknownTopic(f"unknown topic {topic_id!r}")
    return topic_id
