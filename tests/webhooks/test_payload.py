"""The stance.changed / stance.revised payload bytes and the message id scheme."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.domain.errors import UnknownStance
from service.domain.stances import Stance
from service.webhooks.payload import (
    EventType,
    RevisedStretch,
    StanceSnapshot,
    message_id,
    outbox_key,
    stance_changed_payload,
    stance_revised_payload,
)

STATEMENT_BEFORE = uuid.UUID("0b6f2c36-8f55-4d8e-9a39-3f1f7d0d2a01")
STATEMENT_NOW = uuid.UUID("6a3c1f0e-2b7d-4c55-8e21-9d4b1a7c3e02")
BEFORE = StanceSnapshot(
    stance=Stance.SUPPORTS,
    since=datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
    statement_id=STATEMENT_BEFORE,
)
NOW = StanceSnapshot(
    stance="opposes",
    since=datetime(2024, 6, 2, 14, 0, 5, 250000, tzinfo=timezone(timedelta(hours=2))),
    statement_id=str(STATEMENT_NOW),
)
OCCURRED = datetime(2024, 6, 2, 12, 0, 6, tzinfo=UTC)


def build(**changes: object) -> bytes:
    arguments: dict[str, object] = {
        "event_type": EventType.CHANGED,
        "occurred_at": OCCURRED,
        "actor": "jane-doe",
        "topic": "carbon-tax",
        "previous": BEFORE,
        "current": NOW,
        "position": 4211,
    } | changes
    return stance_changed_payload(**arguments)  # type: ignore[arg-type]


def test_the_payload_is_compact_json_in_a_fixed_order() -> None:
    assert build() == (
        b'{"type":"stance.changed","timestamp":"2024-06-02T12:00:06Z","data":{'
        b'"actor":"jane-doe","topic":"carbon-tax",'
        b'"previous":{"stance":"supports","since":"2024-03-01T09:30:00Z",'
        b'"statement_id":"0b6f2c36-8f55-4d8e-9a39-3f1f7d0d2a01"},'
        b'"current":{"stance":"opposes","since":"2024-06-02T12:00:05.250000Z",'
        b'"statement_id":"6a3c1f0e-2b7d-4c55-8e21-9d4b1a7c3e02"},'
        b'"flip":true,"position":4211}}'
    )
    assert build() == build()


def test_flip_follows_the_domain_rule() -> None:
    leaning = StanceSnapshot(Stance.LEANS_SUPPORTS, BEFORE.since, STATEMENT_NOW)
    assert json.loads(build(current=leaning))["data"]["flip"] is False
    neutral = StanceSnapshot(Stance.NEUTRAL, BEFORE.since, STATEMENT_NOW)
    assert json.loads(build(current=neutral))["data"]["flip"] is False


def test_a_first_stance_has_no_previous_and_a_withdrawn_one_no_current() -> None:
    first = json.loads(build(previous=None))["data"]
    assert first["previous"] is None and first["flip"] is False
    assert json.loads(build(current=None))["data"]["current"] is None
    with pytest.raises(ValueError):
        build(previous=None, current=None)


def revised(*stretches: RevisedStretch, cause: str = "corrected") -> bytes:
    return stance_revised_payload(
        occurred_at=OCCURRED,
        actor="jane-doe",
        topic="carbon-tax",
        stretches=stretches,
        cause=cause,
        position=4212,
    )


def test_a_revision_lists_its_stretches_compactly_in_a_fixed_order() -> None:
    earlier = datetime(2024, 1, 5, tzinfo=UTC)
    stretch = RevisedStretch(earlier, BEFORE.since, None, BEFORE)
    fixed = RevisedStretch(BEFORE.since, NOW.since, BEFORE, NOW)
    assert revised(stretch, fixed) == (
        b'{"type":"stance.revised","timestamp":"2024-06-02T12:00:06Z","data":{'
        b'"actor":"jane-doe","topic":"carbon-tax","revisions":['
        b'{"from":"2024-01-05T00:00:00Z","until":"2024-03-01T09:30:00Z","before":null,'
        b'"after":{"stance":"supports","since":"2024-03-01T09:30:00Z",'
        b'"statement_id":"0b6f2c36-8f55-4d8e-9a39-3f1f7d0d2a01"},"flip":false},'
        b'{"from":"2024-03-01T09:30:00Z","until":"2024-06-02T12:00:05.250000Z",'
        b'"before":{"stance":"supports","since":"2024-03-01T09:30:00Z",'
        b'"statement_id":"0b6f2c36-8f55-4d8e-9a39-3f1f7d0d2a01"},'
        b'"after":{"stance":"opposes","since":"2024-06-02T12:00:05.250000Z",'
        b'"statement_id":"6a3c1f0e-2b7d-4c55-8e21-9d4b1a7c3e02"},"flip":true}],'
        b'"flip":true,"cause":"corrected","position":4212}}'
    )


def test_a_revision_flips_when_any_stretch_flips_and_must_change_something() -> None:
    leaning = StanceSnapshot(Stance.LEANS_SUPPORTS, BEFORE.since, STATEMENT_NOW)
    mild = RevisedStretch(BEFORE.since, None, BEFORE, leaning)
    assert json.loads(revised(mild, cause="retracted"))["data"]["flip"] is False
    with pytest.raises(ValueError):
        revised()
    with pytest.raises(ValueError):
        revised(RevisedStretch(BEFORE.since, None, BEFORE, BEFORE))


def test_non_ascii_is_sent_as_utf8() -> None:
    body = build(actor="José Müller")
    assert "José Müller".encode() in body


def test_naive_times_and_unknown_stances_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build(occurred_at=datetime(2024, 1, 1))
    with pytest.raises(UnknownStance):
        build(current=StanceSnapshot("adores", OCCURRED, STATEMENT_NOW))


def test_message_ids_are_stable_per_outbox_row() -> None:
    row = uuid.UUID("5d2f1b7e-0c4a-4e8f-b1a3-7c9d2e4f6a80")
    assert message_id(row) == "msg_5d2f1b7e0c4a4e8fb1a37c9d2e4f6a80"
    assert message_id(str(row)) == message_id(row)
    assert message_id(uuid.uuid4()) != message_id(row)


def test_outbox_keys_are_deterministic_per_event_and_subscription() -> None:
    event, subscription = uuid.uuid4(), uuid.uuid4()
    key = outbox_key(event_id=event, subscription_id=subscription)
    assert key == outbox_key(event_id=str(event), subscription_id=subscription)
    assert key != outbox_key(event_id=event, subscription_id=uuid.uuid4())
    assert key != outbox_key(event_id=uuid.uuid4(), subscription_id=subscription)
    assert outbox_key(event_id=event, subscription_id=7) == outbox_key(
        event_id=event, subscription_id="7"
    )
