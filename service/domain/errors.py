"""Domain errors: every rule the domain enforces fails with one of these.

Each error carries a stable machine ``code`` (the API's problem type and the thing clients match on,
so it never changes once published) and, when one input is to blame, the ``field`` that holds it, so
a client can point at the exact form field instead of parsing a message meant for people.
"""

from typing import ClassVar


class DomainError(Exception):
    """Base of every rule violation: ``message`` for people, ``code`` and ``field`` for programs."""

    code: ClassVar[str] = "domain-error"
    default_field: ClassVar[str | None] = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field if field is not None else self.default_field


class UnknownActor(DomainError):
    code = "unknown-actor"
    default_field = "actor_id"


class UnknownTopic(DomainError):
    code = "unknown-topic"
    default_field = "topic_id"


class UnknownStance(DomainError):
    code = "unknown-stance"
    default_field = "stance"


class ActorAlreadyRegistered(DomainError):
    code = "actor-already-registered"
    default_field = "actor_id"


class TopicAlreadyDefined(DomainError):
    code = "topic-already-defined"
    default_field = "topic_id"


class UnknownStatement(DomainError):
    code = "unknown-statement"
    default_field = "statement_id"


class StatementAlreadyRecorded(DomainError):
    code = "statement-already-recorded"
    default_field = "statement_id"


class StatementIsRetracted(DomainError):
    """A retraction is final: the record says the statement should never have been made."""

    code = "statement-is-retracted"


class NotAwaitingReview(DomainError):
    """Review decisions apply only to statements waiting for one; a decision is never revised."""

    code = "not-awaiting-review"


class StatedAtInFuture(DomainError):
    code = "stated-at-in-future"
    default_field = "stated_at"


class InvalidQuote(DomainError):
    code = "invalid-quote"
    default_field = "quote"


class InvalidSourceUrl(DomainError):
    code = "invalid-source-url"
    default_field = "source.url"


class InvalidConfidence(DomainError):
    code = "invalid-confidence"
    default_field = "confidence"


class InvalidField(DomainError):
    """Any other malformed input: a bad slug or country code, an empty name, an unknown kind."""

    code = "invalid-field"


class UnknownEventType(DomainError):
    """The log holds a type this code does not know: newer code wrote it, or the data is foreign."""

    code = "unknown-event-type"


class InvalidEventPayload(DomainError):
    """A stored payload does not have the shape its type and schema version promise."""

    code = "invalid-event-payload"
