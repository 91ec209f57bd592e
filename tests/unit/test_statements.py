from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from service.domain.commands import (
    ApproveStatement,
    CorrectStatement,
    RejectStatement,
    RetractStatement,
)
from service.domain.errors import (
    DomainError,
    InvalidConfidence,
    InvalidField,
    InvalidQuote,
    InvalidSourceUrl,
    NotAwaitingReview,
    StatedAtInFuture,
    StatementAlreadyRecorded,
    StatementIsRetracted,
    UnknownActor,
    UnknownStance,
    UnknownStatement,
    UnknownTopic,
)
from service.domain.events import StatementChanges
from service.domain.stances import Stance
from service.domain.statements import (
    Statement,
    StatementStatus,
    load_statement,
    record_statement,
)
from service.domain.validation import MAX_QUOTE_LENGTH
from service.domain.values import Source, StatementKind
from tests.unit.builders import CATALOG, FEBRUARY, NOW, SOURCE, new_statement, record_cmd


def _record(min_confidence: float = 0.5, **overrides: Any) -> Any:
    return record_statement(
        record_cmd(**overrides), catalog=CATALOG, now=NOW, min_confidence=min_confidence
    )


def _source(url: str) -> Source:
    return Source(url=url, title="t", publisher="p", published_at=None)


def test_record_normalises_and_decides_review() -> None:
    event = _record(stance=" Supports ", confidence=1)
    assert event.stance is Stance.SUPPORTS
    assert event.kind is StatementKind.PARAPHRASE
    assert event.quote == "Only Lukashenko spoke about Ukraine."
    assert event.confidence == 1.0 and isinstance(event.confidence, float)
    assert event.requires_review is False
    assert _record(confidence=0.49).requires_review is True
    assert _record(confidence=0.5).requires_review is False


def test_a_statement_below_the_minimum_waits_for_review() -> None:
    assert new_statement(confidence=0.2).status is StatementStatus.PENDING
    assert new_statement(confidence=0.9).status is StatementStatus.ACCEPTED


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"actor_id": "mr-nobody"}, UnknownActor, "actor_id"),
        ({"topic_id": "weather"}, UnknownTopic, "topic_id"),
        ({"stance": "agrees"}, UnknownStance, "stance"),
        ({"stated_at": NOW + timedelta(seconds=61)}, StatedAtInFuture, "stated_at"),
        ({"stated_at": datetime(2022, 5, 16)}, InvalidField, "stated_at"),
        ({"quote": "   "}, InvalidQuote, "quote"),
        ({"quote": "x" * (MAX_QUOTE_LENGTH + 1)}, InvalidQuote, "quote"),
        ({"quote": "nul\x00byte"}, InvalidQuote, "quote"),
        ({"source": _source("ftp://example.com/a")}, InvalidSourceUrl, "source.url"),
        ({"source": _source("https:///no-host")}, InvalidSourceUrl, "source.url"),
        ({"source": _source("javascript:alert(1)")}, InvalidSourceUrl, "source.url"),
        ({"source": _source("example.com/article")}, InvalidSourceUrl, "source.url"),
        ({"source": _source("http://[::1")}, InvalidSourceUrl, "source.url"),
        ({"confidence": -0.01}, InvalidConfidence, "confidence"),
        ({"confidence": 1.01}, InvalidConfidence, "confidence"),
        ({"confidence": float("nan")}, InvalidConfidence, "confidence"),
        ({"confidence": True}, InvalidConfidence, "confidence"),
        ({"kind": "rumour"}, InvalidField, "kind"),
        ({"method": "guess"}, InvalidField, "method"),
    ],
)
def test_record_guards(overrides: dict[str, Any], error: type[DomainError], field: str) -> None:
    with pytest.raises(error) as raised:
        _record(**overrides)
    assert raised.value.field == field
    assert raised.value.code == error.code


def test_record_tolerates_a_minute_of_clock_skew_and_keeps_limits_inclusive() -> None:
    assert _record(stated_at=NOW + timedelta(seconds=60)).stated_at == NOW + timedelta(seconds=60)
    assert len(_record(quote="x" * MAX_QUOTE_LENGTH).quote) == MAX_QUOTE_LENGTH
    assert _record(confidence=0.0).confidence == 0.0


def test_record_refuses_a_statement_id_already_used() -> None:
    existing = new_statement()
    with pytest.raises(StatementAlreadyRecorded):
        record_statement(
            record_cmd(statement_id=existing.statement_id),
            catalog=CATALOG,
            now=NOW,
            min_confidence=0.5,
            existing=existing,
        )


def test_load_statement_of_an_empty_stream_is_unknown() -> None:
    with pytest.raises(UnknownStatement):
        load_statement(uuid4(), [])


def test_approve_and_reject_only_statements_awaiting_review() -> None:
    pending = new_statement(confidence=0.1)
    pending.apply(pending.approve(ApproveStatement(pending.statement_id, note=" ok ")))
    assert (pending.status, pending.counts, pending.version) == (StatementStatus.ACCEPTED, True, 1)
    with pytest.raises(NotAwaitingReview):
        pending.approve(ApproveStatement(pending.statement_id))
    with pytest.raises(NotAwaitingReview):
        pending.reject(RejectStatement(pending.statement_id, reason="too late"))

    rejected = new_statement(confidence=0.1)
    rejected.apply(rejected.reject(RejectStatement(rejected.statement_id, reason="misattributed")))
    assert (rejected.status, rejected.counts) == (StatementStatus.REJECTED, False)
    with pytest.raises(NotAwaitingReview):
        rejected.approve(ApproveStatement(rejected.statement_id))


def test_a_rejection_needs_a_reason() -> None:
    pending = new_statement(confidence=0.1)
    with pytest.raises(InvalidField) as raised:
        pending.reject(RejectStatement(pending.statement_id, reason=" "))
    assert raised.value.field == "reason"


def test_correct_records_only_the_fields_that_change() -> None:
    statement = new_statement()
    event = statement.correct(
        CorrectStatement(
            statement.statement_id,
            reason="he was not there",
            actor_id="kamilov",
            stance="supports",
            stated_at=FEBRUARY,
        ),
        catalog=CATALOG,
        now=NOW,
    )
    assert event.changes == StatementChanges(actor_id="kamilov", stated_at=FEBRUARY)
    statement.apply(event)
    assert (statement.actor_id, statement.stated_at, statement.version) == ("kamilov", FEBRUARY, 1)


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"actor_id": "mr-nobody"}, UnknownActor, "actor_id"),
        ({"topic_id": "weather"}, UnknownTopic, "topic_id"),
        ({"stance": "agrees"}, UnknownStance, "stance"),
        ({"stated_at": NOW + timedelta(minutes=2)}, StatedAtInFuture, "stated_at"),
        ({"quote": ""}, InvalidQuote, "quote"),
        ({"source": _source("mailto:editor@example.com")}, InvalidSourceUrl, "source.url"),
        ({"kind": "rumour"}, InvalidField, "kind"),
        ({"reason": ""}, InvalidField, "reason"),
        ({}, InvalidField, None),
        ({"stance": "supports", "actor_id": "lukashenko", "source": SOURCE}, InvalidField, None),
    ],
)
def test_correct_guards(overrides: dict[str, Any], error: type[DomainError], field: str) -> None:
    statement = new_statement()
    command = CorrectStatement(statement.statement_id, **({"reason": "fix"} | overrides))
    with pytest.raises(error) as raised:
        statement.correct(command, catalog=CATALOG, now=NOW)
    assert raised.value.field == field


def test_a_retracted_statement_cannot_be_corrected_or_retracted_again() -> None:
    statement = new_statement()
    statement.apply(statement.retract(RetractStatement(statement.statement_id, reason="hoax")))
    assert (statement.status, statement.counts) == (StatementStatus.RETRACTED, False)
    with pytest.raises(StatementIsRetracted):
        statement.retract(RetractStatement(statement.statement_id, reason="again"))
    with pytest.raises(StatementIsRetracted):
        statement.correct(
            CorrectStatement(statement.statement_id, reason="fix", stance="opposes"),
            catalog=CATALOG,
            now=NOW,
        )
    with pytest.raises(NotAwaitingReview):
        statement.approve(ApproveStatement(statement.statement_id))


def test_a_rejected_statement_can_be_corrected_and_stays_rejected() -> None:
    statement = new_statement(confidence=0.1)
    statement.apply(statement.reject(RejectStatement(statement.statement_id, reason="unclear")))
    correction = CorrectStatement(statement.statement_id, reason="typo", quote="Fixed quote")
    statement.apply(statement.correct(correction, catalog=CATALOG, now=NOW))
    assert (statement.quote, statement.status) == ("Fixed quote", StatementStatus.REJECTED)


def test_from_events_replays_the_stream() -> None:
    first = new_statement(confidence=0.1)
    recorded = _record(statement_id=first.statement_id, confidence=0.1)
    approved = first.approve(ApproveStatement(first.statement_id))
    rebuilt = Statement.from_events([recorded, approved])
    assert (rebuilt.status, rebuilt.version) == (StatementStatus.ACCEPTED, 1)


def test_apply_refuses_events_of_another_statement() -> None:
    statement, other = new_statement(confidence=0.1), new_statement(confidence=0.1)
    with pytest.raises(ValueError):
        statement.apply(other.approve(ApproveStatement(other.statement_id)))
    with pytest.raises(ValueError):
        statement.approve(ApproveStatement(other.statement_id))
