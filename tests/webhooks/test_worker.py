"""The delivery worker against real receivers on 127.0.0.1, on SQLite and PostgreSQL."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from service.db import Database
from service.store.webhook_tables import attempts_table, subscriptions_table
from service.webhooks.deliveries import claim_due
from service.webhooks.payload import message_id
from service.webhooks.policy import RetryPolicy
from service.webhooks.subscriptions import set_enabled
from service.webhooks.worker import DeliveryWorker, build_delivery_client
from tests.webhooks.harness import Receiver, Reply, World, fast_settings, run_until, wait_for

pytestmark = pytest.mark.anyio

WorkerFactory = Callable[..., DeliveryWorker]


@pytest.fixture
def world(database: Database, test_db: Any) -> World:
    world = World(database, fast_settings(test_db.url))
    world.catalog(["lukashenko", "tokayev"], ["war-justified", "sanctions"])
    return world


@pytest.fixture
async def make_worker(database: Database, test_db: Any) -> AsyncIterator[WorkerFactory]:
    """Workers with test settings (overridable) on a shared client that may reach 127.0.0.1."""
    made: list[DeliveryWorker] = []
    async with build_delivery_client(fast_settings(test_db.url)) as client:

        def make(*, policy: RetryPolicy | None = None, **overrides: Any) -> DeliveryWorker:
            settings = fast_settings(test_db.url, **overrides)
            worker = DeliveryWorker(database, client, settings, policy=policy)
            made.append(worker)
            return worker

        yield make
        for worker in made:
            await worker.stop()


def attempts_of(world: World, delivery_id: Any) -> list[Any]:
    a = attempts_table
    query = select(a).where(a.c.delivery_id == delivery_id).order_by(a.c.attempted_at, a.c.id)
    with world.database.read() as session:
        return list(session.connection().execute(query).all())


def subscription_row(world: World, subscription_id: Any) -> Any:
    s = subscriptions_table
    with world.database.read() as session:
        return session.connection().execute(select(s).where(s.c.id == subscription_id)).one()


def all_done(world: World) -> Callable[[], bool]:
    return lambda: all(row.status != "pending" for row in world.deliveries())


async def test_a_delivery_verifies_with_the_standard_webhooks_library(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver)
    subscription, secret = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    worker = make_worker()

    await run_until(worker, all_done(world))

    [row] = world.deliveries(subscription)
    [arrived] = endpoint.received
    assert arrived.body == row.payload.encode()
    assert arrived.webhook_id == message_id(row.id)
    verified = Webhook(secret).verify(arrived.body, arrived.headers)
    assert verified["type"] == "stance.changed"
    assert verified["data"]["current"]["stance"] == "supports"
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    assert row.delivered_at is not None and row.claimed_until is None
    [attempt] = attempts_of(world, row.id)
    assert (attempt.status_code, attempt.outcome) == (200, "success")
    assert attempt.response_excerpt == "ok"


async def test_receiver_failing_for_a_while_gets_every_message_with_stable_ids(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver)
    endpoint.script(Reply(500), Reply(503), Reply(500), Reply(429, headers={"Retry-After": "1"}))
    subscription, _ = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    world.say("lukashenko", "war-justified", "opposes")
    world.say("tokayev", "sanctions", "neutral")
    worker = make_worker(webhook_concurrency=1)

    await run_until(worker, all_done(world))

    rows = world.deliveries(subscription)
    assert [row.status for row in rows] == ["delivered"] * 3
    arrivals = endpoint.received
    assert {a.webhook_id for a in arrivals} == {message_id(row.id) for row in rows}
    for row in rows:  # each attempt of a message reached the receiver under the same id
        assert sum(a.webhook_id == message_id(row.id) for a in arrivals) == row.attempts
        assert [a.outcome for a in attempts_of(world, row.id)][-1] == "success"
    codes = sorted(a.status_code for row in rows for a in attempts_of(world, row.id))
    assert codes == [200, 200, 200, 429, 500, 500, 503]
    throttled = arrivals[3].webhook_id
    again = next(a for a in arrivals[4:] if a.webhook_id == throttled)
    assert again.at - arrivals[3].at >= 1.0  # the 429's Retry-After was honoured


async def test_receiver_down_then_up_gets_the_message(
    world: World, closed_port: int, make_worker: WorkerFactory
) -> None:
    subscription, _ = world.subscribe(f"http://127.0.0.1:{closed_port}/hook")
    world.say("lukashenko", "war-justified", "supports")
    worker = make_worker()
    for _ in range(3):
        await worker.run_once()
        time.sleep(0.06)
    [row] = world.deliveries(subscription)
    assert row.status == "pending" and row.attempts == 3
    assert "connect" in row.last_error

    server = HTTPServer(host="127.0.0.1", port=closed_port, threaded=True)
    server.start()
    try:
        endpoint = Receiver(server)
        await run_until(worker, all_done(world))
    finally:
        server.stop()

    [row] = world.deliveries(subscription)
    assert (row.status, row.attempts) == ("delivered", 4)
    assert endpoint.ids() == [message_id(row.id)]
    errors = [a.error for a in attempts_of(world, row.id)]
    assert all(errors[:3]) and errors[3] is None


async def test_a_slow_receiver_times_out_and_is_retried_with_the_same_id(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver)
    endpoint.script(Reply(delay=1.0), Reply(delay=1.0))
    subscription, _ = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    worker = make_worker(webhook_timeout_seconds=0.3, webhook_throttle_seconds=0.2)

    await run_until(worker, all_done(world))

    [row] = world.deliveries(subscription)
    assert (row.status, row.attempts) == ("delivered", 3)
    assert endpoint.ids() == [message_id(row.id)] * 3
    log = attempts_of(world, row.id)
    assert [a.status_code for a in log] == [None, None, 200]
    assert all("no response within" in a.error for a in log[:2])
    assert all(a.duration_ms < 900 for a in log[:2])


async def test_410_gone_fails_the_message_and_disables_the_subscription(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver, default=Reply(410))
    subscription, _ = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    await run_until(make_worker(), all_done(world))

    [row] = world.deliveries(subscription)
    assert (row.status, row.attempts) == ("failed", 1)
    disabled = subscription_row(world, subscription)
    assert not disabled.enabled and "410" in disabled.disabled_reason
    world.say("lukashenko", "war-justified", "opposes")
    assert len(world.deliveries(subscription)) == 1  # nothing more is queued for it


async def test_a_plain_4xx_is_a_permanent_failure_of_that_message(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver, default=Reply(400))
    subscription, _ = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    await run_until(make_worker(), all_done(world))
    [row] = world.deliveries(subscription)
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 1, 400)
    assert subscription_row(world, subscription).enabled


async def test_an_endpoint_failing_continuously_is_disabled_and_a_success_resets_the_run(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    healthy_again = Receiver(receiver, "/flaky")
    healthy_again.script(Reply(500))
    always_down = Receiver(receiver, "/down", default=Reply(500))
    flaky, _ = world.subscribe(healthy_again.url)
    down, _ = world.subscribe(always_down.url)
    policy = RetryPolicy(
        delays=(0,) + (0.1,) * 50,
        jitter=0,
        throttle_floor_seconds=0,
        disable_after=timedelta(seconds=0.6),
    )
    worker = make_worker(policy=policy)
    world.say("lukashenko", "war-justified", "supports")

    await run_until(worker, all_done(world))

    assert subscription_row(world, flaky).failing_since is None
    assert subscription_row(world, flaky).enabled
    gone = subscription_row(world, down)
    assert not gone.enabled and "failing continuously" in gone.disabled_reason
    [row] = world.deliveries(down)
    assert row.status == "failed" and row.attempts >= 5
    assert len(attempts_of(world, row.id)) == row.attempts  # the failures stay in the log


async def test_a_lease_of_a_dead_worker_runs_out_and_the_delivery_goes_out_again(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver)
    subscription, _ = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    now = datetime.now(UTC)
    [claimed] = claim_due(world.database, limit=10, now=now, lease=timedelta(seconds=1))
    worker = make_worker()
    assert await worker.run_once() == 0  # leased: not due for anyone else

    await run_until(worker, all_done(world), timeout=5)

    assert time.time() - now.timestamp() >= 1.0
    assert endpoint.ids() == [message_id(claimed.id)]
    assert world.deliveries(subscription)[0].status == "delivered"


async def test_concurrent_workers_claim_disjoint_deliveries(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver, default=Reply(delay=0.02))
    for _ in range(6):
        world.subscribe(endpoint.url)
    for stance in ("supports", "opposes", "neutral", "supports", "opposes"):
        world.say("lukashenko", "war-justified", stance)
    workers = [make_worker(webhook_concurrency=4) for _ in range(3)]

    async def drain(worker: DeliveryWorker) -> None:
        while await worker.run_once():
            pass

    await asyncio.gather(*(drain(w) for w in workers))

    rows = world.deliveries()
    assert len(rows) == 30 and all(row.status == "delivered" for row in rows)
    assert sorted(endpoint.ids()) == sorted(message_id(row.id) for row in rows)


async def test_a_started_worker_wakes_at_once_and_stops_cleanly(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver)
    world.subscribe(endpoint.url)
    worker = make_worker(webhook_poll_seconds=30)  # only a wake can make it look in time
    await worker.start()
    world.say("lukashenko", "war-justified", "supports")
    started = time.monotonic()
    worker.wake()
    await wait_for(lambda: len(endpoint.received) == 1, timeout=5)
    assert time.monotonic() - started < 5
    await wait_for(all_done(world), timeout=5)
    await worker.stop()
    assert not worker.running


async def test_the_guard_refuses_a_private_destination_at_delivery_time(
    world: World, receiver: HTTPServer, test_db: Any, database: Database
) -> None:
    endpoint = Receiver(receiver)
    subscription, _ = world.subscribe(endpoint.url)  # as if its name had resolved publicly
    world.say("lukashenko", "war-justified", "supports")
    settings = fast_settings(test_db.url, allow_private_urls=False)
    async with build_delivery_client(settings) as client:
        await DeliveryWorker(database, client, settings).run_once()
    [row] = world.deliveries(subscription)
    assert row.status == "pending" and "not a public address" in row.last_error
    assert endpoint.received == []


def test_the_lease_must_outlast_the_timeout(test_db: Any, database: Database) -> None:
    settings = fast_settings(test_db.url, webhook_timeout_seconds=5, webhook_lease_seconds=5)
    with pytest.raises(ValueError, match="lease"):
        DeliveryWorker(database, httpx.AsyncClient(), settings)


async def test_a_disabled_subscription_keeps_its_messages_until_it_is_enabled(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver)
    subscription, _ = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    world.say("tokayev", "sanctions", "opposes")
    with world.database.write() as session:
        set_enabled(session.connection(), subscription, enabled=False, now=datetime.now(UTC))
    worker = make_worker()
    assert await worker.run_once() == 0
    assert [row.status for row in world.deliveries()] == ["paused", "paused"]

    with world.database.write() as session:
        set_enabled(session.connection(), subscription, enabled=True, now=datetime.now(UTC))
    await run_until(worker, all_done(world))
    assert [row.status for row in world.deliveries()] == ["delivered", "delivered"]
    assert len(endpoint.received) == 2


async def test_a_message_queued_just_as_its_subscription_went_away_is_held_back(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver)
    disabled, _ = world.subscribe(endpoint.url)
    deleted, _ = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    s = subscriptions_table
    with world.database.write() as session:  # as a change committing after the outbox read
        session.connection().execute(update(s).where(s.c.id == disabled).values(enabled=False))
        session.connection().execute(
            update(s).where(s.c.id == deleted).values(deleted_at=datetime.now(UTC))
        )
    assert await make_worker().run_once() == 0
    assert world.deliveries(disabled)[0].status == "paused"
    assert world.deliveries(deleted)[0].status == "cancelled"
    assert endpoint.received == []


async def test_gone_pauses_the_rest_of_the_endpoints_queue(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver, default=Reply(410))
    subscription, _ = world.subscribe(endpoint.url)
    for stance in ("supports", "opposes", "neutral"):
        world.say("lukashenko", "war-justified", stance)
    await run_until(make_worker(webhook_concurrency=1), all_done(world))
    assert [row.status for row in world.deliveries(subscription)] == [
        "failed",
        "paused",
        "paused",
    ]
