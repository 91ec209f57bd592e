"""Rectangle ids: a digest of what a rectangle says, which readers cache cells by in any number
of databases. ``rectangle_id`` encodes the version's part once per version and joins it to the
rectangle's own; these tests hold it to the plain definition, one JSON array of everything, so
ids stay what databases already store."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from service.projections.pairs import Pair, Segment
from service.projections.statements import _next_version, _recorded_version, rectangle_id
from service.store.records import RecordedEvent

PAIR: Pair = ("actor-ü", 'topic "quoted"')
STATED = datetime(2021, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
RECORDED = datetime(2024, 1, 1, tzinfo=UTC)


def _defined(pair: Pair, segment: Segment, position: int) -> int:
    """The id by its definition: 63 bits of BLAKE2b over the JSON of the whole rectangle."""
    version = segment.version
    said = (
        pair[0],
        pair[1],
        segment.valid_from,
        segment.valid_until,
        position,
        version["stance"],
        version["score"],
        str(version["statement_id"]),
        version["caused_by_position"],
        version["quote"],
        version["kind"],
        version["source"],
        version["status"],
        segment.previous_stance,
    )
    digest = hashlib.blake2b(orjson.dumps(said, option=orjson.OPT_SORT_KEYS), digest_size=8)
    return int.from_bytes(digest.digest(), "big") >> 1


def _event(position: int, type_: str, data: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(position, uuid.uuid4(), "", 0, type_, 1, data, {}, RECORDED)


def _recorded(source: dict[str, Any]) -> dict[str, Any]:
    data = {
        "statement_id": "0b4f5a39-1d6c-4c1e-9a57-5b0e3c2d1f00",
        "actor_id": PAIR[0],
        "topic_id": PAIR[1],
        "stance": "leans_supports",
        "quote": "“Tax cuts” — for all\n",
        "stated_at": STATED.isoformat(),
        "kind": "direct_quote",
        "source": source,
        "confidence": 0.9,
        "method": "manual",
        "requires_review": False,
    }
    statement_id = uuid.UUID(data["statement_id"])
    return _recorded_version(statement_id, data, _event(7, "StatementRecorded", data))


SOURCE = {"url": "https://example.org/a", "title": "A", "publisher": "P", "published_at": None}


def test_every_rectangle_of_a_version_has_the_id_its_definition_gives():
    version = _recorded(SOURCE)
    later = STATED + timedelta(days=3)
    segments = [
        Segment(STATED, None, version, None),
        Segment(STATED, later, version, None),
        Segment(STATED, later, version, "opposes"),
        Segment(STATED, None, version, "neutral"),
    ]
    for position in (7, 8, 2**40):
        for segment in segments:
            assert rectangle_id(PAIR, segment, position) == _defined(PAIR, segment, position)
    ids = {rectangle_id(PAIR, segment, 8) for segment in segments}
    assert len(ids) == len(segments)
    assert all(0 < each < 2**63 for each in ids)


def test_the_source_is_digested_with_its_keys_in_order():
    """A version read back from PostgreSQL's jsonb has its source's keys in another order."""
    reordered = dict(reversed(SOURCE.items()))
    first, second = _recorded(SOURCE), _recorded(reordered)
    assert list(first["source"]) != list(second["source"])
    segment = Segment(STATED, None, first, None)
    again = Segment(STATED, None, second, None)
    assert rectangle_id(PAIR, segment, 9) == rectangle_id(PAIR, again, 9)


def test_a_new_version_is_digested_anew():
    """What a version's rectangles say is kept with the version; the next one says something
    else and must not inherit it."""
    first = _recorded(SOURCE)
    before = rectangle_id(PAIR, Segment(STATED, None, first, None), 8)
    changes = {"quote": "Tax cuts for some", "stance": "opposes"}
    corrected = _next_version(first, _event(8, "StatementCorrected", {"changes": changes}))
    retracted = _next_version(corrected, _event(9, "StatementRetracted", {"reason": "gone"}))
    for version in (corrected, retracted):
        segment = Segment(STATED, None, version, None)
        assert rectangle_id(PAIR, segment, 10) == _defined(PAIR, segment, 10)
    assert rectangle_id(PAIR, Segment(STATED, None, first, None), 8) == before
