"""``GET /v1/events``: pages of the raw log, filtered by type, with ``next_after``."""

import uuid
from datetime import datetime

from tests.api.conftest import append_events


def test_empty_log(client):
    assert client.get("/v1/events").json() == {"events": [], "next_after": None}


def test_pages_follow_next_after_to_the_end(client, db):
    positions = append_events(db, 7)
    seen: list[int] = []
    after: int | None = 0
    pages = 0
    while after is not None:
        page = client.get("/v1/events", params={"after": after, "limit": 3}).json()
        seen += [event["position"] for event in page["events"]]
        after = page["next_after"]
        pages += 1
    assert seen == positions
    assert pages == 3


def test_a_page_that_reaches_the_end_has_no_next_after(client, db):
    append_events(db, 3)
    page = client.get("/v1/events", params={"limit": 3}).json()
    assert len(page["events"]) == 3 and page["next_after"] is None


def test_event_shape(client, db):
    [position] = append_events(db, 1, event_type="ThingNamed", stream_id="thing-9")
    [event] = client.get("/v1/events").json()["events"]
    assert event["position"] == position
    uuid.UUID(event["event_id"])
    assert event["stream_id"] == "thing-9"
    assert event["version"] == 0
    assert event["type"] == "ThingNamed"
    assert event["schema_version"] == 1
    assert event["data"] == {"n": 0}
    assert event["metadata"] == {"recorded_by": "test"}
    recorded_at = datetime.fromisoformat(event["recorded_at"])
    assert recorded_at.utcoffset() is not None and recorded_at.utcoffset().total_seconds() == 0


def test_type_filter_may_repeat(client, db):
    append_events(db, 2, event_type="A", stream_id="s-a")
    append_events(db, 2, event_type="B", stream_id="s-b")
    append_events(db, 2, event_type="C", stream_id="s-c")
    only_a = client.get("/v1/events", params={"type": "A"}).json()["events"]
    assert {e["type"] for e in only_a} == {"A"} and len(only_a) == 2
    a_and_c = client.get("/v1/events", params=[("type", "A"), ("type", "C")]).json()["events"]
    assert [e["type"] for e in a_and_c] == ["A", "A", "C", "C"]


def test_events_limit_may_go_to_1000_but_no_further(client):
    assert client.get("/v1/events", params={"limit": 1000}).status_code == 200
    assert client.get("/v1/events", params={"limit": 1001}).status_code == 422
    assert client.get("/v1/events", params={"limit": 0}).status_code == 422


def test_positions_beyond_64_bits_are_refused_not_crashed_on(client):
    assert client.get("/v1/events", params={"after": 2**63 - 1}).json()["events"] == []
    assert client.get("/v1/events", params={"after": 2**64}).status_code == 422
    assert client.get("/v1/events", params={"type": "bad\x00type"}).status_code == 422
