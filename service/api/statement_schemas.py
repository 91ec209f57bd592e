"""Request and response schemas of the statement routes; the domain checks the rules."""

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from service.queries import StatementVersionView, StatementView

StanceLabel = Literal["opposes", "leans_opposes", "neutral", "leans_supports", "supports"]
KindLabel = Literal["direct_quote", "paraphrase", "readout", "vote", "action"]
MethodLabel = Literal["manual", "rule", "feed"]
SlugField = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", examples=["lukashenko"])


def _utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are read as UTC, the service's only time zone."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(description="Where the statement was reported (http or https).")
    title: str = Field(min_length=1, max_length=500)
    publisher: str = Field(min_length=1, max_length=200)
    published_at: datetime | None = None

    _published_utc = field_validator("published_at")(_utc)


_STATEMENT_EXAMPLE: dict[str, Any] = {
    "actor_id": "mirziyoyev",
    "topic_id": "ukraine-sovereignty",
    "stance": "supports",
    "quote": "We recognize the sovereignty of Ukraine.",
    "stated_at": "2022-05-16",
    "kind": "direct_quote",
    "source": {
        "url": "https://example.org/letters/lukashenko-putins-ally",
        "title": "Lukashenko, Putin's ally",
        "publisher": "Letters",
    },
    "confidence": 0.9,
}


class StatementIn(BaseModel):
    """A stated position; below the configured confidence it waits for review."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_STATEMENT_EXAMPLE]})

    statement_id: UUID | None = Field(
        default=None, description="Give one to make retries safe; otherwise one is made."
    )
    actor_id: str = SlugField
    topic_id: str = SlugField
    stance: StanceLabel
    quote: str = Field(min_length=1, max_length=2000)
    stated_at: datetime = Field(
        description="When it was said (valid time); a date is midnight UTC."
    )
    kind: KindLabel
    source: SourceIn
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    method: MethodLabel = "manual"

    _stated_utc = field_validator("stated_at")(_utc)


class CorrectionIn(BaseModel):
    """Fields to correct (at least one) and why; the record keeps what it said before."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "actor_id": "kamilov",
                    "stated_at": "2022-03-17",
                    "reason": "Said by Foreign Minister Kamilov in the Senate on 17 March 2022.",
                }
            ]
        },
    )

    reason: str = Field(min_length=1, max_length=1000)
    stance: StanceLabel | None = None
    stated_at: datetime | None = None
    actor_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    topic_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    quote: str | None = Field(default=None, min_length=1, max_length=2000)
    source: SourceIn | None = None
    kind: KindLabel | None = None

    _stated_utc = field_validator("stated_at")(_utc)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=1000)


class StatementWritten(BaseModel):
    """Where the write landed; read with ``min_position`` at or after ``position`` to see it."""

    statement_id: UUID
    position: int
    duplicate: bool = Field(description="True when this was a retry of a write already made.")


class VersionOut(BaseModel):
    version_no: int
    actor_id: str
    topic_id: str
    stance: str
    quote: str
    stated_at: datetime
    kind: str
    source: dict[str, Any]
    status: str
    counts: bool
    reason: str | None
    caused_by: str = Field(description="The event that made this version.")
    position: int
    known_from: datetime = Field(description="Transaction time this version was first believed.")
    known_until: datetime | None = Field(description="When a later event replaced it.")

    @classmethod
    def of(cls, view: StatementVersionView) -> "VersionOut":
        return cls(
            version_no=view.version_no,
            actor_id=view.actor_id,
            topic_id=view.topic_id,
            stance=view.stance,
            quote=view.quote,
            stated_at=view.stated_at,
            kind=view.kind,
            source=view.source,
            status=view.status,
            counts=view.counts,
            reason=view.reason,
            caused_by=view.caused_by_type,
            position=view.caused_by_position,
            known_from=view.known_from,
            known_until=view.known_until,
        )


class StatementOut(BaseModel):
    statement_id: UUID
    actor_id: str
    topic_id: str
    stance: str
    score: int
    quote: str
    stated_at: datetime
    kind: str
    source: dict[str, Any]
    confidence: float
    method: str
    status: str = Field(description="accepted, pending (waiting for review), rejected, retracted")
    counts: bool = Field(description="Whether it takes part in the stance rule.")
    recorded_at: datetime
    position: int = Field(description="Position of the event that recorded it.")
    versions: list[VersionOut] | None = None

    @classmethod
    def of(cls, view: StatementView) -> "StatementOut":
        return cls(
            statement_id=view.statement_id,
            actor_id=view.actor_id,
            topic_id=view.topic_id,
            stance=view.stance,
            score=view.score,
            quote=view.quote,
            stated_at=view.stated_at,
            kind=view.kind,
            source=view.source,
            confidence=view.confidence,
            method=view.method,
            status=view.status,
            counts=view.counts,
            recorded_at=view.recorded_at,
            position=view.recorded_position,
            versions=[VersionOut.of(v) for v in view.versions] or None,
        )


class StatementPage(BaseModel):
    items: list[StatementOut]
    next_cursor: str | None
