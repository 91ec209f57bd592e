"""The delivery worker against real receivers on 127.0.0.1, on SQLite and PostgreSQL."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook

from service.db import Database
from service.webhooks.deliveries import claim_due
from service.webhooks.payload import message_id
from service.webhooks.worker import DeliveryWorker, build_delivery_client
from tests.webhooks.harness import (
    Receiver,
    Reply,
    WorkerFactory,
    World,
    fast_settings,
    run_until,
    wait_for,
)

pytestmark = pytest.mark.anyio


async def test_a_delivery_verifies_with_the_standard_webhooks_library(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver)
    subscription, secret = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    worker = make_worker()

    await run_until(worker, world.all_sent)

    [row] = world.deliveries(subscription)
    [arrived] = endpoint.received
    assert arrived.body == row.payload.encode()
    assert arrived.webhook_id == message_id(row.id)
    verified = Webhook(secret).verify(arrived.body, arrived.headers)
    assert verified["type"] == "stance.changed"
    assert verified["data"]["current"]["stance"] == "supports"
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    assert row.delivered_at is not None and row.claimed_until is None
    [attempt] = world.attempts(row.id)
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

    await run_until(worker, world.all_sent)

    rows = world.deliveries(subscription)
    assert [row.status for row in rows] == ["delivered"] * 3
    arrivals = endpoint.received
    assert {a.webhook_id for a in arrivals} == {message_id(row.id) for row in rows}
    for row in rows:  # each attempt of a message reached the receiver under the same id
        assert sum(a.webhook_id == message_id(row.id) for a in arrivals) == row.attempts
        assert [a.outcome for a in world.attempts(row.id)][-1] == "success"
    codes = sorted(a.status_code for row in rows for a in world.attempts(row.id))
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
        await run_until(worker, world.all_sent)
    finally:
        server.stop()

    [row] = world.deliveries(subscription)
    assert (row.status, row.attempts) == ("delivered", 4)
    assert endpoint.ids() == [message_id(row.id)]
    errors = [a.error for a in world.attempts(row.id)]
    assert all(errors[:3]) and errors[3] is None


async def test_a_slow_receiver_times_out_and_is_retried_with_the_same_id(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver)
    endpoint.script(Reply(delay=1.0), Reply(delay=1.0))
    subscription, _ = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    worker = make_worker(webhook_timeout_seconds=0.3, webhook_throttle_seconds=0.2)

    await run_until(worker, world.all_sent)

    [row] = world.deliveries(subscription)
    assert (row.status, row.attempts) == ("delivered", 3)
    assert endpoint.ids() == [message_id(row.id)] * 3
    log = world.attempts(row.id)
    assert [a.status_code for a in log] == [None, None, 200]
    assert all("no response within" in a.error for a in log[:2])
    assert all(a.duration_ms < 900 for a in log[:2])


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

    await run_until(worker, world.all_sent, timeout=5)

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
    await wait_for(world.all_sent, timeout=5)
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


async def test_a_started_worker_sends_a_backlog_larger_than_its_slots_once_each(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver)
    for _ in range(5):
        world.subscribe(endpoint.url)
    for stance in ("supports", "opposes", "neutral", "supports", "opposes", "neutral"):
        world.say("lukashenko", "war-justified", stance)
    worker = make_worker(webhook_concurrency=4)  # claims ahead of its 4 slots, records in batches
    await worker.start()
    await wait_for(world.all_sent, timeout=15)
    await worker.stop()

    rows = world.deliveries()
    assert len(rows) == 30
    assert all(
        (row.status, row.attempts, row.claimed_until) == ("delivered", 1, None) for row in rows
    )
    assert sorted(endpoint.ids()) == sorted(message_id(row.id) for row in rows)
    assert all(len(world.attempts(row.id)) == 1 for row in rows)


async def test_stopping_gives_back_the_leases_of_claimed_deliveries_not_yet_sent(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver, default=Reply(delay=0.5))
    for _ in range(4):
        world.subscribe(endpoint.url)
    for stance in ("supports", "opposes", "neutral"):
        world.say("lukashenko", "war-justified", stance)
    worker = make_worker(webhook_concurrency=2)
    await worker.start()
    await wait_for(lambda: len(endpoint.received) >= 1, timeout=5)
    await worker.stop(grace_seconds=2)

    rows = world.deliveries()
    assert len(rows) == 12
    sent = [row for row in rows if row.status == "delivered"]
    assert 1 <= len(sent) < 12  # two slots, half a second each: stopped well before the end
    # What was claimed ahead but never sent is free for the next worker at once, no lease left.
    assert all(row.claimed_until is None for row in rows)
    assert all(row.attempts == 0 for row in rows if row.status == "pending")
    again = make_worker(webhook_concurrency=8)
    await run_until(again, world.all_sent)
    assert sorted(endpoint.ids()) == sorted(message_id(row.id) for row in rows)
