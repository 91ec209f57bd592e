"""Rectangle ids: a digest of what a rectangle says, which readers cache cells by in any number
of databases. ``rectangle_id`` digests the version's part once per version and keeps it with the
version; these tests hold it to the plain definition, computed afresh for each rectangle, so ids
stay what databases already store."""

import hashlib
import struct
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from service.projections.pairs import Pair, Segment
from service.projections.statements import _SAID, _next_version, _recorded_version, rectangle_id
from service.store import interval_index
from service.store.records import RecordedEvent

PAIR: Pair = ("actor-ü", 'topic "quoted"')
STATED = datetime(2021, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
RECORDED = datetime(2024, 1, 1, tzinfo=UTC)


def _defined(segment: Segment, lo: int, hi: int, position: int) -> int:
    """The id by its definition: 63 bits of BLAKE2b over the 16-byte BLAKE2b of the JSON of the
    version's columns, then the valid range and the opening position as unsigned big-endian
    64-bit integers, then the previous stance's letters."""
    version = segment.version
    shown = (
        version["actor_id"],
        version["topic_id"],
        version["stance"],
        version["score"],
        str(version["statement_id"]),
        version["caused_by_position"],
        version["quote"],
        version["kind"],
        version["source"],
        version["status"],
    )
    said = hashlib.blake2b(orjson.dumps(shown, option=orjson.OPT_SORT_KEYS), digest_size=16)
    text = said.digest() + struct.pack(">QQQ", lo, hi, position)
    text += (segment.previous_stance or "").encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") >> 1


def _bounds(segment: Segment) -> tuple[int, int]:
    _node, lo, hi = interval_index.valid_key(segment.valid_from, segment.valid_until)
    return lo, hi


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


def _id(segment: Segment, position: int) -> int:
    return rectangle_id(segment, *_bounds(segment), position)


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
            assert _id(segment, position) == _defined(segment, *_bounds(segment), position)
    ids = {_id(segment, 8) for segment in segments}
    assert len(ids) == len(segments)
    assert all(0 < each < 2**63 for each in ids)


def test_every_part_of_what_a_rectangle_says_moves_its_id():
    """The pair, each column of the version a cell shows, the valid range, the opening
    position and the previous stance: changing any one gives another id."""
    version = _recorded(SOURCE)
    segment = Segment(STATED, STATED + timedelta(days=3), version, "opposes")
    lo, hi = _bounds(segment)
    first = rectangle_id(segment, lo, hi, 8)
    changed = {
        "actor_id": "actor-2",
        "topic_id": "topic-2",
        "stance": "opposes",
        "score": -2,
        "statement_id": uuid.UUID(int=5),
        "caused_by_position": 9,
        "quote": "other words",
        "kind": "paraphrase",
        "source": {**SOURCE, "title": "B"},
        "status": "pending",
    }
    others = {
        rectangle_id(segment._replace(version={**version, name: value, _SAID: None}), lo, hi, 8)
        for name, value in changed.items()
    }
    others |= {
        rectangle_id(segment, lo + 1, hi, 8),
        rectangle_id(segment, lo, hi + 1, 8),
        rectangle_id(segment, lo, hi, 9),
        rectangle_id(segment._replace(previous_stance=None), lo, hi, 8),
        rectangle_id(segment._replace(previous_stance="supports"), lo, hi, 8),
    }
    assert first not in others
    assert len(others) == len(changed) + 5


def test_the_source_is_digested_with_its_keys_in_order():
    """A version read back from PostgreSQL's jsonb has its source's keys in another order."""
    reordered = dict(reversed(SOURCE.items()))
    first, second = _recorded(SOURCE), _recorded(reordered)
    assert list(first["source"]) != list(second["source"])
    segment = Segment(STATED, None, first, None)
    again = Segment(STATED, None, second, None)
    assert _id(segment, 9) == _id(again, 9)


def test_a_new_version_is_digested_anew():
    """What a version's rectangles say is kept with the version; the next one says something
    else and must not inherit it."""
    first = _recorded(SOURCE)
    before = _id(Segment(STATED, None, first, None), 8)
    changes = {"quote": "Tax cuts for some", "stance": "opposes"}
    corrected = _next_version(first, _event(8, "StatementCorrected", {"changes": changes}))
    retracted = _next_version(corrected, _event(9, "StatementRetracted", {"reason": "gone"}))
    for version in (corrected, retracted):
        segment = Segment(STATED, None, version, None)
        assert _id(segment, 10) == _defined(segment, *_bounds(segment), 10)
    assert _id(Segment(STATED, None, first, None), 8) == before
