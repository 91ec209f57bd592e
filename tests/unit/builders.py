"""Small builders for unit tests: a fixed clock, a catalog, commands and events with defaults."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from service.domain.commands import RecordStatement
from service.domain.events import StatementRecorded
from service.domain.stances import Stance
from service.domain.statements import KnownIds, Statement, record_statement
from service.domain.values import RecordingMethod, Source, StatementKind

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
MAY = datetime(2022, 5, 16, tzinfo=UTC)
FEBRUARY = datetime(2022, 2, 24, tzinfo=UTC)
SOURCE = Source(
    url="https://news.example.com/2022/05/16/csto",
    title="CSTO summit",
    publisher="Example News",
    published_at=datetime(2022, 5, 17, tzinfo=UTC),
)
CATALOG = KnownIds(
    actor_ids=frozenset({"putin", "lukashenko", "mirziyoyev", "kamilov"}),
    topic_ids=frozenset({"war-justified", "ukraine-sovereignty"}),
)


def record_cmd(**overrides: Any) -> RecordStatement:
    command = RecordStatement(
        statement_id=uuid4(),
        actor_id="lukashenko",
        topic_id="war-justified",
        stance="supports",
        quote="  Only Lukashenko spoke about Ukraine.  ",
        stated_at=MAY,
        kind="paraphrase",
        source=SOURCE,
        confidence=1.0,
        method="manual",
    )
    return replace(command, **overrides)


def new_statement(*, min_confidence: float = 0.5, **overrides: Any) -> Statement:
    event = record_statement(
        record_cmd(**overrides), catalog=CATALOG, now=NOW, min_confidence=min_confidence
    )
    return Statement.from_events([event])


def recorded(
    actor_id: str,
    topic_id: str,
    stance: Stance,
    stated_at: datetime,
    *,
    statement_id: UUID | None = None,
    requires_review: bool = False,
) -> StatementRecorded:
    return StatementRecorded(
        statement_id=statement_id or uuid4(),
        actor_id=actor_id,
        topic_id=topic_id,
        stance=stance,
        quote="a quote",
        stated_at=stated_at,
        kind=StatementKind.DIRECT_QUOTE,
        source=SOURCE,
        confidence=1.0,
        method=RecordingMethod.MANUAL,
        requires_review=requires_review,
    )
