import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain import events
from service.domain.errors import InvalidEventPayload, UnknownEventType
from service.domain.events import (
    EVENT_TYPES,
    ActorChanges,
    ActorRegistered,
    ActorUpdated,
    DomainEvent,
    StatementApproved,
    StatementChanges,
    StatementCorrected,
    StatementRecorded,
    StatementRejected,
    StatementRetracted,
    TopicChanges,
    TopicDefined,
    TopicUpdated,
    actor_stream,
    changed_fields,
    decode,
    encode,
    statement_stream,
    stream_for,
    topic_stream,
)
from service.domain.stances import Stance
from service.domain.upcasting import UpcasterRegistry
from service.domain.values import (
    UNCHANGED,
    ActorKind,
    RecordingMethod,
    Source,
    StanceCues,
    StatementKind,
)
from tests.unit.builders import MAY, recorded

texts = st.text(max_size=30)
slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
phrases = st.lists(texts, max_size=3).map(tuple)
times = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
offset_times = st.datetimes(
    min_value=datetime(1900, 1, 2),
    max_value=datetime(2099, 12, 31),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-5))]),
)
sources = st.builds(Source, url=texts, title=texts, publisher=texts, published_at=st.none() | times)
cues = st.builds(StanceCues, **{stance.value: phrases for stance in Stance})


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.just(UNCHANGED) | strategy


actor_events = st.builds(
    ActorRegistered,
    actor_id=slugs,
    name=texts,
    kind=st.sampled_from(ActorKind),
    country=st.none() | st.from_regex(r"[A-Z]{2}", fullmatch=True),
    role=st.none() | texts,
    aliases=phrases,
    wikidata_id=st.none() | st.from_regex(r"Q[1-9][0-9]{0,6}", fullmatch=True),
) | st.builds(
    ActorUpdated,
    actor_id=slugs,
    changes=st.builds(
        ActorChanges,
        name=maybe(texts),
        kind=maybe(st.sampled_from(ActorKind)),
        country=maybe(st.none() | texts),
        role=maybe(st.none() | texts),
        aliases=maybe(phrases),
        wikidata_id=maybe(st.none() | texts),
    ),
)
topic_events = st.builds(
    TopicDefined, topic_id=slugs, title=texts, proposition=texts, keywords=phrases, cues=cues
) | st.builds(
    TopicUpdated,
    topic_id=slugs,
    changes=st.builds(
        TopicChanges,
        title=maybe(texts),
        proposition=maybe(texts),
        keywords=maybe(phrases),
        cues=maybe(cues),
    ),
)
statement_events = st.one_of(
    st.builds(
        StatementRecorded,
        statement_id=st.uuids(),
        actor_id=slugs,
        topic_id=slugs,
        stance=st.sampled_from(Stance),
        quote=texts,
        stated_at=offset_times,
        kind=st.sampled_from(StatementKind),
        source=sources,
        confidence=st.floats(min_value=0.0, max_value=1.0),
        method=st.sampled_from(RecordingMethod),
        requires_review=st.booleans(),
    ),
    st.builds(StatementApproved, statement_id=st.uuids(), note=st.none() | texts),
    st.builds(StatementRejected, statement_id=st.uuids(), reason=texts),
    st.builds(StatementRetracted, statement_id=st.uuids(), reason=texts),
    st.builds(
        StatementCorrected,
        statement_id=st.uuids(),
        reason=texts,
        changes=st.builds(
            StatementChanges,
            stance=maybe(st.sampled_from(Stance)),
            stated_at=maybe(offset_times),
            actor_id=maybe(slugs),
            topic_id=maybe(slugs),
            quote=maybe(texts),
            source=maybe(sources),
            kind=maybe(st.sampled_from(StatementKind)),
        ),
    ),
)
any_event = actor_events | topic_events | statement_events


@given(any_event)
def test_encode_then_decode_gives_the_same_event(event: DomainEvent) -> None:
    event_type, payload = encode(event)
    stored = json.loads(json.dumps(payload, allow_nan=False))
    assert event_type == type(event).__name__
    assert decode(event_type, stored) == event


@given(any_event)
def test_encoding_is_stable_across_a_round_trip(event: DomainEvent) -> None:
    event_type, payload = encode(event)
    assert encode(decode(event_type, payload)) == (event_type, payload)


def test_every_event_class_is_registered_under_its_name() -> None:
    assert set(EVENT_TYPES) == {
        "ActorRegistered",
        "ActorUpdated",
        "TopicDefined",
        "TopicUpdated",
        "StatementRecorded",
        "StatementApproved",
        "StatementRejected",
        "StatementCorrected",
        "StatementRetracted",
    }


def test_payload_is_plain_json_with_utc_datetimes_and_absent_unchanged_fields() -> None:
    statement_id = uuid4()
    event = StatementCorrected(
        statement_id=statement_id,
        changes=StatementChanges(
            stance=Stance.OPPOSES,
            stated_at=datetime(2022, 1, 5, 3, tzinfo=timezone(timedelta(hours=6))),
        ),
        reason="wrong month",
    )
    assert encode(event) == (
        "StatementCorrected",
        {
            "statement_id": str(statement_id),
            "changes": {"stance": "opposes", "stated_at": "2022-01-04T21:00:00+00:00"},
            "reason": "wrong month",
        },
    )


def test_clearing_a_nullable_field_is_distinct_from_leaving_it_unchanged() -> None:
    cleared = ActorUpdated("putin", ActorChanges(country=None))
    assert encode(cleared)[1] == {"actor_id": "putin", "changes": {"country": None}}
    assert decode(*encode(cleared)).changes.country is None
    assert changed_fields(cleared.changes) == {"country": None}
    assert changed_fields(ActorChanges()) == {}


def test_naive_datetimes_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="naive"):
        encode(recorded("putin", "war-justified", Stance.SUPPORTS, datetime(2022, 5, 16)))


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(UnknownEventType) as raised:
        decode("StatementDeleted", {})
    assert raised.value.code == "unknown-event-type"


def _payload() -> dict[str, Any]:
    return encode(recorded("putin", "war-justified", Stance.SUPPORTS, MAY))[1]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.pop("quote"), "quote"),
        (lambda p: p.update(quote=3), "quote"),
        (lambda p: p.update(stance="agrees"), "stance"),
        (lambda p: p.update(stated_at="2022-05-16T00:00:00"), "stated_at"),
        (lambda p: p.update(stated_at="yesterday"), "stated_at"),
        (lambda p: p.update(statement_id="not-a-uuid"), "statement_id"),
        (lambda p: p.update(confidence=True), "confidence"),
        (lambda p: p.update(requires_review="no"), "requires_review"),
        (lambda p: p["source"].pop("url"), "source.url"),
        (lambda p: p.update(extra=1), None),
    ],
)
def test_malformed_payloads_are_refused_with_the_path(change: Any, field: str | None) -> None:
    payload = _payload()
    change(payload)
    with pytest.raises(InvalidEventPayload) as raised:
        decode("StatementRecorded", payload)
    assert raised.value.field == field


def test_integer_confidence_in_json_decodes_as_float() -> None:
    payload = _payload() | {"confidence": 1}
    confidence = decode("StatementRecorded", payload).confidence  # type: ignore[union-attr]
    assert isinstance(confidence, float)


def test_the_project_registry_has_no_upcasters_yet() -> None:
    assert isinstance(events.UPCASTERS, UpcasterRegistry)
    assert all(events.UPCASTERS.current_version(name) == 1 for name in EVENT_TYPES)


def test_decode_upcasts_old_schema_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = UpcasterRegistry()
    registry.register(
        "StatementApproved",
        1,
        lambda data: {"statement_id": data["statement_id"], "note": data["comment"]},
    )
    monkeypatch.setattr(events, "UPCASTERS", registry)
    statement_id = uuid4()
    old = {"statement_id": str(statement_id), "comment": "checked"}
    assert decode("StatementApproved", old, schema_version=1) == StatementApproved(
        statement_id, "checked"
    )
    with pytest.raises(InvalidEventPayload):
        decode("StatementApproved", old, schema_version=3)


def test_stream_names() -> None:
    statement_id = uuid4()
    assert actor_stream("putin") == "actor-putin"
    assert topic_stream("war-justified") == "topic-war-justified"
    assert statement_stream(statement_id) == f"statement-{statement_id}"
    assert stream_for(ActorUpdated("putin", ActorChanges(name="V. Putin"))) == "actor-putin"
    assert stream_for(StatementApproved(statement_id, None)) == f"statement-{statement_id}"
    assert (
        stream_for(TopicDefined("war-justified", "t", "p", (), StanceCues()))
        == "topic-war-justified"
    )
