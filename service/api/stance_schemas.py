"""Response schemas of the stance routes."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from service.queries import StanceChangeView, StanceView

_SOURCE_EXAMPLE = {
    "url": "https://example.org/letters/lukashenko-putins-ally",
    "title": "Lukashenko, Putin's ally",
    "publisher": "Letters",
    "published_at": None,
}
_STANCE_EXAMPLE: dict[str, Any] = {
    "actor": "lukashenko",
    "topic": "war-justified",
    "stance": "supports",
    "score": 2,
    "since": "2022-05-16T00:00:00Z",
    "previous_stance": None,
    "flip": False,
    "statement": {
        "statement_id": "0b7d2b34-6a8f-5d4c-9a5e-3f2c1d0e9b8a",
        "quote": "Russia is strong enough alone to demilitarize the Nazis.",
        "stated_at": "2022-05-16T00:00:00Z",
        "kind": "paraphrase",
        "status": "accepted",
        "source": _SOURCE_EXAMPLE,
    },
}


class StatementBehind(BaseModel):
    """The statement a stance rests on, with its source, so every stance can be checked."""

    statement_id: UUID
    quote: str
    stated_at: datetime = Field(description="Valid time: when it was said.")
    kind: str
    status: str
    source: dict[str, Any]


class StanceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_STANCE_EXAMPLE]})

    actor: str
    topic: str
    stance: str = Field(description="opposes, leans_opposes, neutral, leans_supports, supports")
    score: int = Field(ge=-2, le=2)
    since: datetime = Field(description="When the statement behind this stance was made.")
    previous_stance: str | None = Field(
        description="The latest earlier stance on this topic that differed from this one."
    )
    flip: bool = Field(description="True when the stance changed side from previous_stance.")
    statement: StatementBehind

    @classmethod
    def of(cls, view: StanceView) -> "StanceOut":
        ref = view.statement
        return cls(
            actor=view.actor_id,
            topic=view.topic_id,
            stance=view.stance,
            score=view.score,
            since=view.since,
            previous_stance=view.previous_stance,
            flip=view.flip,
            statement=StatementBehind(
                statement_id=ref.statement_id,
                quote=ref.quote,
                stated_at=ref.stated_at,
                kind=ref.kind,
                status=ref.status,
                source=ref.source,
            ),
        )


class StanceMatrix(BaseModel):
    """Stances as of ``as_of``, as known at ``known_at`` (null: now), ordered by actor, topic."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": None,
                    "known_at": None,
                    "stances": [_STANCE_EXAMPLE],
                    "next_cursor": None,
                }
            ]
        }
    )

    as_of: datetime | None
    known_at: datetime | None
    stances: list[StanceOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class StanceChangeOut(BaseModel):
    """A change of the current stance, and the event that caused it."""

    position: int = Field(description="Position of the event that caused the change.")
    from_stance: str | None
    to_stance: str | None
    flip: bool
    statement_id: UUID | None
    previous_statement_id: UUID | None
    since: datetime | None
    event_type: str
    recorded_at: datetime

    @classmethod
    def of(cls, view: StanceChangeView) -> "StanceChangeOut":
        return cls(
            position=view.position,
            from_stance=view.from_stance,
            to_stance=view.to_stance,
            flip=view.flip,
            statement_id=view.statement_id,
            previous_statement_id=view.previous_statement_id,
            since=view.since,
            event_type=view.event_type,
            recorded_at=view.recorded_at,
        )


class StanceHistory(BaseModel):
    actor: str
    topic: str
    changes: list[StanceChangeOut]
