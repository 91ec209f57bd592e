"""The feeds resource over HTTP, and the acceptance test of the feeds issue.

Acceptance: with the demo loaded and the API running, a feed added through ``POST /v1/feeds``
whose new item reports a tracked leader changing position is polled by the scheduler (as
``stance serve``/``stance worker`` run it), and ``GET /v1/stances`` shows the new stance with the
item's link as its source within one scheduler interval. Runs on SQLite and PostgreSQL.
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer

from service.app import create_app
from service.auth.registry import create_key
from service.db import Database
from service.demo.catalog import ACTORS, TOPICS
from service.demo.loader import load_demo
from service.feeds.leases import claim_feed
from service.feeds.options import build_feed_client
from service.feeds.poller import FeedPoller
from service.scheduler import FeedScheduler
from service.wiring import build_services
from tests.api.conftest import assert_problem
from tests.conftest import ProvisionedDatabase
from tests.feeds.conftest import FeedSite, feed_settings

TURN = (
    "https://example.org/wire/lukashenko-turns",
    "Lukashenko turns on the war",
    "Lukashenko said on Monday that he condemns the war against Ukraine.",
)
DRILLS = (
    "https://example.org/wire/drills",
    "Joint drills",
    "Belarus and Russia held joint air defence drills near the Polish border.",
)


@pytest.fixture
def make_client(test_db: ProvisionedDatabase) -> Iterator[Callable[..., TestClient]]:
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings = feed_settings(database_url=test_db.url, api_key_cache_seconds=0, **overrides)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def writer(client: TestClient, test_db: ProvisionedDatabase) -> dict[str, str]:
    with Database(test_db.engine).write() as session:
        key = create_key(session, name="newsroom", can_write=True).key
    return {"Authorization": f"Bearer {key}"}


def test_add_list_read_delete_and_resume(client: TestClient, writer, httpserver: HTTPServer):
    url = httpserver.url_for("/feed.xml")
    added = client.post("/v1/feeds", json={"url": url, "name": "Wire"}, headers=writer)
    assert added.status_code == 201, added.text
    feed = added.json()
    assert feed["status"] == "polling" and feed["kind"] == "news"
    assert feed["interval_seconds"] == 900 and feed["created_by"] == "key:newsroom"
    assert feed["next_poll_at"] is not None and feed["items_seen"] == 0

    second = client.post(
        "/v1/feeds",
        json={"url": httpserver.url_for("/b.json"), "kind": "statements", "interval_seconds": 60},
        headers=writer,
    ).json()
    first_page = client.get("/v1/feeds", params={"limit": 1}).json()
    rest = client.get("/v1/feeds", params={"limit": 1, "cursor": first_page["next_cursor"]})
    assert [f["id"] for f in first_page["items"]] == [feed["id"]]
    assert [f["id"] for f in rest.json()["items"]] == [second["id"]]
    assert rest.json()["next_cursor"] is None

    deleted = client.delete(f"/v1/feeds/{feed['id']}", headers=writer)
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    assert client.get(f"/v1/feeds/{feed['id']}").json()["status"] == "deleted"
    live = client.get("/v1/feeds", params={"active": "true"}).json()["items"]
    assert [f["id"] for f in live] == [second["id"]]
    assert_problem(
        client.post(f"/v1/feeds/{feed['id']}/resume", headers=writer), 409, "feed-deleted"
    )
    resumed = client.post(f"/v1/feeds/{second['id']}/resume", headers=writer)
    assert resumed.status_code == 200 and resumed.json()["status"] == "polling"


def test_refusals_are_problems(make_client, client: TestClient, writer, httpserver: HTTPServer):
    url = httpserver.url_for("/feed.xml")
    assert_problem(client.post("/v1/feeds", json={"url": url}), 401, "unauthorized")
    body = assert_problem(
        client.post("/v1/feeds", json={"url": url, "interval_seconds": 5}, headers=writer),
        422,
        "validation-error",
    )
    assert body["errors"][0]["field"] == "interval_seconds"
    assert_problem(
        client.post("/v1/feeds", json={"url": "ftp://example.org/x"}, headers=writer),
        422,
        "unsafe-url",
    )
    assert client.post("/v1/feeds", json={"url": url}, headers=writer).status_code == 201
    assert_problem(client.post("/v1/feeds", json={"url": url}, headers=writer), 409, "feed-exists")
    [feed] = client.get("/v1/feeds").json()["items"]
    claim_feed(  # another worker is polling it right now
        client.app.state.runtime.database,  # type: ignore[attr-defined]
        uuid.UUID(feed["id"]),
        now=datetime.now(UTC),
        lease=timedelta(minutes=5),
    )
    assert_problem(client.post(f"/v1/feeds/{feed['id']}/poll", headers=writer), 409, "feed-busy")
    missing = "/v1/feeds/00000000-0000-4000-8000-000000000000"
    assert_problem(client.get(missing), 404, "not-found")
    assert_problem(client.post(f"{missing}/poll", headers=writer), 404, "not-found")

    guarded = make_client(allow_private_urls=False)
    body = assert_problem(
        guarded.post("/v1/feeds", json={"url": httpserver.url_for("/x")}, headers=writer),
        422,
        "unsafe-url",
    )
    assert "not a public address" in body["detail"]


def test_poll_now_answers_with_what_it_found(client: TestClient, writer, httpserver: HTTPServer):
    client.app.state.runtime.services.bus.execute_all(  # type: ignore[attr-defined]
        [(command, None) for command in (*ACTORS, *TOPICS)], metadata={"recorded_by": "test"}
    )
    site = FeedSite([TURN, DRILLS])
    httpserver.expect_request("/feed.xml").respond_with_handler(site.handle)
    feed = client.post(
        "/v1/feeds", json={"url": httpserver.url_for("/feed.xml")}, headers=writer
    ).json()

    found = client.post(f"/v1/feeds/{feed['id']}/poll", headers=writer)
    again = client.post(f"/v1/feeds/{feed['id']}/poll", headers=writer).json()

    assert found.status_code == 200, found.text
    answer = found.json()
    assert answer["outcome"] == "ok" and answer["new_items"] == 2
    assert [
        (s["actor_id"], s["topic_id"], s["stance"], s["item_link"]) for s in answer["statements"]
    ] == [("lukashenko", "war-justified", "opposes", TURN[0])]
    assert answer["feed"]["items_seen"] == 2 and answer["feed"]["statements_produced"] == 1
    assert again["outcome"] == "not_modified" and again["statements"] == []


def test_a_feed_item_changes_a_stance_within_one_scheduler_interval(
    client: TestClient, writer, test_db: ProvisionedDatabase, httpserver: HTTPServer
):
    database = Database(test_db.engine)
    load_demo(build_services(feed_settings(), database).bus)
    before = _lukashenko_on_the_war(client)
    assert before["stance"] == "supports"
    site = FeedSite([TURN, DRILLS])
    httpserver.expect_request("/minsk.xml").respond_with_handler(site.handle)
    added = client.post(
        "/v1/feeds",
        json={"url": httpserver.url_for("/minsk.xml"), "name": "Minsk Monitor"},
        headers=writer,
    )
    assert added.status_code == 201

    interval = 0.5
    seen = asyncio.run(_worker_until_the_stance_moves(database, client, interval))

    assert seen is not None, "the stance did not change within one scheduler interval"
    assert seen["stance"] == "opposes" and seen["previous_stance"] == "supports"
    assert seen["flip"] is True
    assert seen["statement"]["source"]["url"] == TURN[0]
    assert seen["statement"]["source"]["publisher"] == "Minsk Monitor"


async def _worker_until_the_stance_moves(
    database: Database, client: TestClient, interval: float
) -> dict[str, Any] | None:
    """Run the scheduler as ``stance worker`` does; watch the API until the stance changes."""
    settings = feed_settings(scheduler_interval_seconds=interval)
    async with build_feed_client(settings) as http:
        poller = FeedPoller(build_services(settings, database), http, settings)
        scheduler = FeedScheduler(poller, interval_seconds=interval)
        started = time.monotonic()
        scheduler.start()
        try:
            # One interval for the cycle to come round, plus time for the cycle itself.
            while time.monotonic() - started < interval + 10:
                now = await asyncio.to_thread(_lukashenko_on_the_war, client)
                if now["stance"] != "supports":
                    return now
                await asyncio.sleep(0.05)
        finally:
            await scheduler.stop()
    return None


def _lukashenko_on_the_war(client: TestClient) -> dict[str, Any]:
    matrix = client.get("/v1/stances", params={"actor": "lukashenko", "topic": "war-justified"})
    assert matrix.status_code == 200, matrix.text
    [found] = matrix.json()["stances"]
    return found  # type: ignore[no-any-return]
