"""The poller against real HTTP servers on 127.0.0.1, on SQLite and PostgreSQL.

Each test adds a feed, polls it through ``FeedPoller`` (fetch, parse, extract, append through the
command bus, feed state) and checks the log, the read models and the feed's row.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pytest_httpserver import HTTPServer

from service.feeds import settle as settle_module
from service.feeds.poller import FeedPoller
from service.feeds.registry import FeedDeleted, delete_feed, get_feed, resume_feed
from service.queries import get_statement, stance
from service.wiring import Services
from tests.feeds.conftest import FeedSite, add_test_feed, feed_settings

pytestmark = pytest.mark.anyio

TROOPS = (
    "https://example.org/wire/troops",
    "Lukashenko on troops",
    "Lukashenko said Belarus refuses to send troops to Ukraine.",
)
DRILLS = (
    "https://example.org/wire/drills",
    "Joint drills",
    "Belarus and Russia held joint air defence drills near the Polish border.",
)
SOVEREIGNTY = (
    "https://example.org/wire/sovereignty",
    "Tokayev on Ukraine",
    "Tokayev told reporters that Kazakhstan supports the territorial integrity of Ukraine.",
)


def make_poller(
    services: Services, client: httpx.AsyncClient, clock=None, **overrides
) -> FeedPoller:
    options = {"clock": clock} if clock else {}
    return FeedPoller(services, client, feed_settings(**overrides), **options)


def feed_events(services: Services, feed_id: uuid.UUID) -> list:
    with services.database.read() as session:
        events = services.store.read_all(session, after=0, limit=10_000)
    return [e for e in events if e.metadata.get("recorded_by") == f"feed:{feed_id}"]


def serve(httpserver: HTTPServer, site: FeedSite, path: str = "/feed.xml") -> str:
    httpserver.expect_request(path).respond_with_handler(site.handle)
    return httpserver.url_for(path)


async def test_first_poll_appends_the_statements_with_the_item_as_source(
    services: Services, feed_client, httpserver: HTTPServer
):
    site = FeedSite([TROOPS, DRILLS])
    feed = add_test_feed(services, serve(httpserver, site))

    report = await make_poller(services, feed_client).poll_feed(feed.id)

    assert report.outcome == "ok" and report.recorded
    assert report.new_items == 2
    assert [(s.actor_id, s.topic_id, s.stance) for s in report.statements] == [
        ("lukashenko", "belarus-troops-to-ukraine", "opposes")
    ]
    events = feed_events(services, feed.id)
    assert [e.type for e in events] == ["StatementRecorded"]
    assert events[0].metadata == {"recorded_by": f"feed:{feed.id}", "item_link": TROOPS[0]}
    with services.database.read() as session:
        recorded = get_statement(session.connection(), report.statements[0].statement_id)
        current = stance(session.connection(), "lukashenko", "belarus-troops-to-ukraine")
    assert recorded is not None and recorded.method == "feed"
    assert recorded.source["url"] == TROOPS[0] and recorded.source["publisher"] == "Test Wire"
    assert current is not None and current.stance == "opposes"
    state = get_feed(services.database, feed.id)
    assert state is not None
    assert (state.items_seen, state.statements_produced) == (2, 1)
    assert state.etag == site.etag and state.last_outcome == "ok"
    assert state.last_success_at is not None and state.last_error is None
    assert state.next_poll_at >= state.last_poll_at + timedelta(seconds=600)


async def test_second_poll_gets_a_304_and_appends_nothing(
    services: Services, feed_client, httpserver: HTTPServer
):
    site = FeedSite([TROOPS, DRILLS])
    feed = add_test_feed(services, serve(httpserver, site))
    poller = make_poller(services, feed_client)
    await poller.poll_feed(feed.id)

    again = await poller.poll_feed(feed.id)

    assert site.statuses == [200, 304]
    assert again.outcome == "not_modified" and again.statements == () and again.new_items == 0
    assert len(feed_events(services, feed.id)) == 1
    state = get_feed(services.database, feed.id)
    assert state is not None and state.last_outcome == "not_modified"
    assert (state.items_seen, state.statements_produced) == (2, 1)


async def test_a_changed_feed_appends_only_the_new_items(
    services: Services, feed_client, httpserver: HTTPServer
):
    site = FeedSite([TROOPS, DRILLS])
    feed = add_test_feed(services, serve(httpserver, site))
    poller = make_poller(services, feed_client)
    await poller.poll_feed(feed.id)

    site.items.insert(0, SOVEREIGNTY)
    changed = await poller.poll_feed(feed.id)

    assert site.statuses == [200, 200]
    assert changed.new_items == 1
    assert [(s.actor_id, s.item_link) for s in changed.statements] == [("tokayev", SOVEREIGNTY[0])]
    assert len(feed_events(services, feed.id)) == 2
    state = get_feed(services.database, feed.id)
    assert state is not None and (state.items_seen, state.statements_produced) == (3, 2)


async def test_a_crash_after_the_append_does_not_record_a_statement_twice(
    services: Services, feed_client, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
):
    site = FeedSite([TROOPS])
    feed = add_test_feed(services, serve(httpserver, site))

    def crash(*_args, **_kwargs):
        raise RuntimeError("killed between the append and the feed's items")

    with monkeypatch.context() as patched:  # the worker dies: nothing after the append is written
        patched.setattr(settle_module, "finish", crash)
        patched.setattr(settle_module, "finish_all", crash)
        crashed = await make_poller(services, feed_client).poll_feed(feed.id)
    assert not crashed.recorded and len(feed_events(services, feed.id)) == 1
    # The dead worker's lease runs out; the next poll fetches the item again.
    later = make_poller(services, feed_client, clock=lambda: datetime.now(UTC) + timedelta(hours=1))
    retried = await later.poll_feed(feed.id)

    assert [s.duplicate for s in retried.statements] == [True]
    assert len(feed_events(services, feed.id)) == 1
    state = get_feed(services.database, feed.id)
    assert state is not None and (state.items_seen, state.statements_produced) == (1, 1)


async def test_a_statements_feed_records_its_entries_and_warns_about_bad_ones(
    services: Services, feed_client, httpserver: HTTPServer
):
    good = {
        "statement_id": str(uuid.uuid4()),
        "actor_id": "pashinyan",
        "topic_id": "armenia-turkey-normalisation",
        "stance": "supports",
        "quote": "We are ready to establish relations with Turkey without preconditions.",
        "stated_at": "2026-05-01T10:00:00Z",
        "kind": "direct_quote",
        "source": {"url": "https://example.org/a", "title": "A", "publisher": "Partner"},
    }
    unknown = {**good, "statement_id": str(uuid.uuid4()), "actor_id": "nobody"}
    body = json.dumps({"statements": [good, unknown]})
    httpserver.expect_request("/statements.json").respond_with_data(
        body, content_type="application/json"
    )
    feed = add_test_feed(services, httpserver.url_for("/statements.json"), kind="statements")

    report = await make_poller(services, feed_client).poll_feed(feed.id)

    assert report.outcome == "ok"
    assert [str(s.statement_id) for s in report.statements] == [good["statement_id"]]
    assert any("nobody" in warning for warning in report.warnings)
    state = get_feed(services.database, feed.id)
    assert state is not None and state.last_warning and "nobody" in state.last_warning
    assert (state.items_seen, state.statements_produced) == (2, 1)


async def test_429_with_retry_after_waits_as_long_as_asked(
    services: Services, feed_client, httpserver: HTTPServer
):
    httpserver.expect_request("/feed").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7200"}
    )
    feed = add_test_feed(services, httpserver.url_for("/feed"))
    before = datetime.now(UTC)

    report = await make_poller(services, feed_client).poll_feed(feed.id)

    assert report.outcome == "retry_later" and report.schedule_reason == "Retry-After"
    state = get_feed(services.database, feed.id)
    assert state is not None and state.consecutive_failures == 1
    assert state.next_poll_at >= before + timedelta(seconds=7200)
    assert state.last_error == "HTTP 429" and state.last_http_status == 429


async def test_500_backs_off_further_with_each_failure(
    services: Services, feed_client, httpserver: HTTPServer
):
    httpserver.expect_request("/feed").respond_with_data("oops", status=500)
    feed = add_test_feed(services, httpserver.url_for("/feed"))
    poller = make_poller(services, feed_client)

    delays = []
    for _ in range(2):
        report = await poller.poll_feed(feed.id)
        state = get_feed(services.database, feed.id)
        assert state is not None and state.last_poll_at is not None
        delays.append(state.next_poll_at - state.last_poll_at)
        assert report.outcome == "error" and not report.paused

    assert delays[0] > timedelta(seconds=600)  # longer than the feed's own interval
    assert delays[1] > delays[0]
    assert state.consecutive_failures == 2 and state.last_error == "HTTP 500"


async def test_a_feed_is_paused_after_repeated_failures_until_resumed(
    services: Services, feed_client, httpserver: HTTPServer
):
    httpserver.expect_request("/feed").respond_with_data("oops", status=500)
    feed = add_test_feed(services, httpserver.url_for("/feed"))
    poller = make_poller(services, feed_client)  # pauses after 3 failures in a row

    reports = [await poller.poll_feed(feed.id) for _ in range(3)]

    assert [r.paused for r in reports] == [False, False, True]
    future = make_poller(
        services, feed_client, clock=lambda: datetime.now(UTC) + timedelta(days=30)
    )
    assert await future.poll_due() == []  # paused feeds are never due
    resumed = resume_feed(services.database, feed.id, now=datetime.now(UTC))
    assert not resumed.paused and resumed.consecutive_failures == 0
    assert [r.feed_id for r in await future.poll_due()] == [feed.id]


async def test_410_gone_stops_the_feed(services: Services, feed_client, httpserver: HTTPServer):
    httpserver.expect_request("/feed").respond_with_data("gone", status=410)
    feed = add_test_feed(services, httpserver.url_for("/feed"))

    report = await make_poller(services, feed_client).poll_feed(feed.id)

    assert report.outcome == "gone" and report.stopped
    state = get_feed(services.database, feed.id)
    assert state is not None and state.stopped and state.active
    future = make_poller(
        services, feed_client, clock=lambda: datetime.now(UTC) + timedelta(days=30)
    )
    assert await future.poll_due() == []


async def test_an_unsafe_or_unreadable_document_is_a_recorded_error(
    services: Services, feed_client, httpserver: HTTPServer
):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<rss><channel><title>&lol2;</title></channel></rss>"
    )
    httpserver.expect_request("/laughs").respond_with_data(laughs, content_type="application/xml")
    httpserver.expect_request("/garbage").respond_with_data(b"\x00\x01 not a feed")
    bombs = [add_test_feed(services, httpserver.url_for(p)) for p in ("/laughs", "/garbage")]

    reports = [await make_poller(services, feed_client).poll_feed(f.id) for f in bombs]

    assert [r.outcome for r in reports] == ["error", "error"]
    assert all(r.error and r.error.startswith("unreadable feed") for r in reports)
    assert all(get_feed(services.database, f.id).consecutive_failures == 1 for f in bombs)


async def test_poll_due_polls_the_due_feeds_concurrently_and_reschedules_them(
    services: Services, feed_client, httpserver: HTTPServer
):
    sites = [FeedSite([(f"https://example.org/{n}", "t", "Nothing said.")]) for n in range(6)]
    feeds = [add_test_feed(services, serve(httpserver, s, f"/f{n}")) for n, s in enumerate(sites)]
    poller = make_poller(services, feed_client)

    first = await poller.poll_due()
    second = await poller.poll_due()  # nothing is due any more

    assert sorted(r.feed_id for r in first) == sorted(f.id for f in feeds)
    assert all(r.outcome == "ok" for r in first) and second == []
    assert [s.requests for s in sites] == [1] * 6


async def test_a_deleted_feed_is_not_polled(services: Services, feed_client, httpserver):
    feed = add_test_feed(services, httpserver.url_for("/feed"))
    delete_feed(services.database, feed.id)

    assert await make_poller(services, feed_client).poll_due() == []
    with pytest.raises(FeedDeleted):
        await make_poller(services, feed_client).poll_feed(feed.id)
