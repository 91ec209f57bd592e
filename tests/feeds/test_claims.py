"""Claims and leases: two workers never poll one feed at once; a dead worker's claim runs out.

Each worker gets its own engine (its own connections), as another process would.
"""

import asyncio
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from service.db import Database
from service.feeds.leases import PollOutcome, claim_due, claim_feed, finish
from service.feeds.options import build_feed_client
from service.feeds.poller import FeedPoller
from service.feeds.registry import FeedBusy
from service.feeds.schedule import PollPlan
from service.wiring import build_services
from tests.conftest import ProvisionedDatabase
from tests.feeds.conftest import add_test_feed, catalog_services, feed_settings

LEASE = timedelta(minutes=15)


@pytest.fixture
def other_databases(test_db: ProvisionedDatabase) -> Iterator[list[Database]]:
    """Three more connections pools to the test database, one per extra worker."""
    databases = [Database(test_db.new_engine()) for _ in range(3)]
    yield databases
    for database in databases:
        database.dispose()


def test_concurrent_claimers_take_disjoint_sets_of_feeds(database: Database, other_databases):
    services = build_services(feed_settings(), database)
    feeds = {add_test_feed(services, f"http://127.0.0.1:9/{n}", name=None).id for n in range(40)}
    workers = [database, *other_databases]
    start = threading.Barrier(len(workers))
    now = datetime.now(UTC) + timedelta(seconds=1)

    def claim_all(worker: Database) -> list:
        start.wait()
        taken = []
        while batch := claim_due(worker, now=now, lease=LEASE, limit=7):
            taken.extend(claim.feed.id for claim in batch)
        return taken

    with ThreadPoolExecutor(len(workers)) as pool:
        results = list(pool.map(claim_all, workers))

    counts = Counter(feed_id for taken in results for feed_id in taken)
    assert set(counts) == feeds
    assert max(counts.values()) == 1


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_overwrite(database: Database):
    services = build_services(feed_settings(), database)
    feed = add_test_feed(services, "http://127.0.0.1:9/feed")
    now = datetime.now(UTC) + timedelta(seconds=1)

    [first] = claim_due(database, now=now, lease=LEASE, limit=10)
    assert claim_due(database, now=now + timedelta(minutes=1), lease=LEASE, limit=10) == []
    with pytest.raises(FeedBusy):
        claim_feed(database, feed.id, now=now + timedelta(minutes=1), lease=LEASE)
    later = now + LEASE + timedelta(seconds=1)
    [second] = claim_due(database, now=later, lease=LEASE, limit=10)

    assert second.feed.id == feed.id and second.token != first.token
    plan = PollPlan(next_poll_at=later + timedelta(hours=1), consecutive_failures=0)
    outcome = PollOutcome(polled_at=later, outcome="ok", http_status=200, plan=plan, succeeded=True)
    assert finish(database, first, outcome) is False
    assert finish(database, second, outcome) is True


def test_two_pollers_on_postgresql_never_poll_the_same_feed_at_once(make_database):
    test_db = make_database("postgresql")
    first_db, second_db = Database(test_db.engine), Database(test_db.new_engine())
    in_flight: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    overlaps: list[str] = []
    lock = threading.Lock()

    def slow_feed(request: Request) -> Response:
        with lock:
            in_flight[request.path] += 1
            requests[request.path] += 1
            if in_flight[request.path] > 1:
                overlaps.append(request.path)
        time.sleep(0.02)
        with lock:
            in_flight[request.path] -= 1
        body = "<rss version='2.0'><channel><title>t</title></channel></rss>"
        return Response(body, content_type="application/rss+xml")

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(r"/f\d+")).respond_with_handler(slow_feed)
    server.start()
    try:
        services = catalog_services(first_db)
        feeds = [add_test_feed(services, server.url_for(f"/f{n}"), name=None) for n in range(30)]
        settings = feed_settings(feed_concurrency=8, feed_per_host=8, feed_claim_batch=4)
        pollers_services = [services, build_services(settings, second_db)]

        async def both_cycles(clock_offset: timedelta) -> list:
            def clock() -> datetime:
                return datetime.now(UTC) + clock_offset

            async with build_feed_client(settings) as one, build_feed_client(settings) as two:
                pollers = [
                    FeedPoller(s, c, settings, clock=clock)
                    for s, c in zip(pollers_services, (one, two), strict=True)
                ]
                return list(await asyncio.gather(*(p.poll_due() for p in pollers)))

        rounds = [asyncio.run(both_cycles(timedelta(days=d))) for d in (0, 30)]
    finally:
        server.clear()
        server.stop()
        second_db.dispose()

    assert overlaps == []
    assert all(count == 2 for count in requests.values()) and len(requests) == len(feeds)
    for reports in rounds:
        polled = [r.feed_id for per_poller in reports for r in per_poller]
        assert sorted(polled) == sorted(f.id for f in feeds)  # each once, by one poller or other
        assert all(r.recorded for per_poller in reports for r in per_poller)
        assert all(per_poller for per_poller in reports)  # both took part
