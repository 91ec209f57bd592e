"""``GET /v1/events/stream`` over real HTTP: order, wake-ups, resumption, keep-alive, endings."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from service.api.metrics import EVENT_STREAMS_OPEN
from tests.api.conftest import LiveServer, append_events, assert_problem

QUIET = {"sse_keepalive_seconds": 30.0, "sse_poll_seconds": 30.0}
"""Neither keep-alives nor polls within a test: anything that arrives was woken by a notify."""


@dataclass
class Message:
    id: str | None = None
    event: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)
    retry: int | None = None

    @property
    def json(self) -> dict:
        return json.loads(self.data)


def messages(response: httpx.Response) -> Iterator[Message]:
    """SSE messages as they arrive; a comment-only block is a message with only comments."""
    current = Message()
    for line in response.iter_lines():
        if line == "":
            yield current
            current = Message()
        elif line.startswith(":"):
            current.comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                current.data += value
            elif name in ("id", "event"):
                setattr(current, name, value)
            elif name == "retry":
                current.retry = int(value)


def next_events(stream: Iterator[Message], count: int) -> list[Message]:
    """The next ``count`` event messages, skipping keep-alives and the retry hint."""
    found: list[Message] = []
    while len(found) < count:
        message = next(stream)
        if message.id is not None:
            found.append(message)
    return found


@contextmanager
def open_stream(http: httpx.Client, server: LiveServer, **kwargs) -> Iterator[httpx.Response]:
    request = http.build_request("GET", f"{server.url}/v1/events/stream", **kwargs)
    response = http.send(request, stream=True)
    try:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield response
    finally:
        response.close()


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_events_appended_after_connecting_arrive_in_order_woken_by_notify(
    make_live_server, http, db
):
    server = make_live_server(**QUIET)
    with open_stream(http, server) as response:
        stream = messages(response)
        assert next(stream).retry == 2000
        started = time.monotonic()
        positions = append_events(db, 3)
        server.notify(positions[-1])
        positions += append_events(db, 2, stream_id="thing-2")
        server.notify(positions[-1])
        received = next_events(stream, 5)
        elapsed = time.monotonic() - started
    assert [int(m.id) for m in received] == positions
    assert [m.event for m in received] == ["ThingHappened"] * 5
    assert [m.json["position"] for m in received] == positions
    assert received[0].json["stream_id"] == "thing-1"
    assert elapsed < 5, "the notifier should wake the stream long before the 30 s poll"


def test_other_processes_appends_arrive_by_the_fallback_poll(make_live_server, http, db):
    server = make_live_server(sse_keepalive_seconds=30.0, sse_poll_seconds=0.2)
    with open_stream(http, server) as response:
        stream = messages(response)
        positions = append_events(db, 2)  # no notify: as if another process wrote them
        assert [int(m.id) for m in next_events(stream, 2)] == positions


def test_reconnecting_with_last_event_id_loses_and_repeats_nothing(make_live_server, http, db):
    server = make_live_server(sse_keepalive_seconds=0.3, sse_poll_seconds=0.3)
    first = append_events(db, 5)
    with open_stream(http, server) as response:
        got = next_events(messages(response), 3)
    assert [int(m.id) for m in got] == first[:3]

    later = append_events(db, 4, stream_id="thing-2")
    server.notify(later[-1])
    headers = {"Last-Event-ID": got[-1].id}
    with open_stream(http, server, headers=headers, params={"after": 0}) as response:
        stream = messages(response)
        resumed = next_events(stream, 6)
        # After the backlog only keep-alives come: nothing repeated, nothing extra.
        following = next(stream)
        while following.retry is not None:
            following = next(stream)
    assert [int(m.id) for m in resumed] == first[3:] + later
    assert following.id is None and following.comments == ["keep-alive"]


def test_after_parameter_and_type_filter(make_live_server, http, db):
    server = make_live_server(**QUIET)
    append_events(db, 2, event_type="A", stream_id="s-a")
    wanted = append_events(db, 2, event_type="B", stream_id="s-b")
    with open_stream(http, server, params={"type": "B", "after": wanted[0]}) as response:
        stream = messages(response)
        assert [int(m.id) for m in next_events(stream, 1)] == wanted[1:]
        more_a = append_events(db, 3, event_type="A", stream_id="s-a")
        server.notify(more_a[-1])
        more_b = append_events(db, 1, event_type="B", stream_id="s-b")
        server.notify(more_b[-1])
        assert [int(m.id) for m in next_events(stream, 1)] == more_b


def test_keepalive_comments_arrive_on_an_idle_stream(make_live_server, http):
    server = make_live_server(sse_keepalive_seconds=0.2, sse_poll_seconds=5.0)
    with open_stream(http, server) as response:
        stream = messages(response)
        started = time.monotonic()
        comments = [m for m in (next(stream) for _ in range(3)) if m.comments]
        assert len(comments) >= 2
        assert all(m.comments == ["keep-alive"] for m in comments)
        assert time.monotonic() - started < 3


def test_a_bad_last_event_id_is_a_400_problem(make_live_server, http):
    server = make_live_server(**QUIET)
    response = http.get(f"{server.url}/v1/events/stream", headers={"Last-Event-ID": "abc"})
    body = assert_problem(response, 400, "invalid-last-event-id")
    assert body["errors"][0] == {
        "location": "header",
        "field": "Last-Event-ID",
        "message": body["errors"][0]["message"],
    }


def test_a_stream_ends_when_the_client_disconnects(make_live_server, http):
    server = make_live_server(**QUIET)
    before = EVENT_STREAMS_OPEN._value.get()
    with open_stream(http, server) as response:
        stream = messages(response)  # keep it: dropping the generator would close the response
        next(stream)
        wait_until(lambda: EVENT_STREAMS_OPEN._value.get() == before + 1)
    wait_until(lambda: EVENT_STREAMS_OPEN._value.get() == before)


@pytest.mark.parametrize("streams", [1, 3])
def test_server_shutdown_ends_open_streams_promptly(make_live_server, http, streams):
    server = make_live_server(**QUIET)
    ended: list[bool] = []

    def follow() -> None:
        with httpx.Client(timeout=httpx.Timeout(20.0)) as own, open_stream(own, server) as response:
            for _ in messages(response):
                pass
            ended.append(True)

    before = EVENT_STREAMS_OPEN._value.get()
    followers = [threading.Thread(target=follow) for _ in range(streams)]
    for follower in followers:
        follower.start()
    wait_until(lambda: EVENT_STREAMS_OPEN._value.get() == before + streams)
    took = server.stop()
    for follower in followers:
        follower.join(10)
    assert took < 5, f"shutdown took {took:.1f} s with open streams"
    assert ended == [True] * streams
    assert EVENT_STREAMS_OPEN._value.get() == before
