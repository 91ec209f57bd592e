"""Endpoint health: permanent failures, 410 Gone, sustained failure, and disabled subscriptions
whose messages wait (paused) until they are enabled. Real receivers, SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import update

from service.store.webhook_tables import subscriptions_table
from service.webhooks.policy import RetryPolicy
from service.webhooks.subscriptions import set_enabled
from tests.webhooks.harness import Receiver, Reply, WorkerFactory, World, run_until

pytestmark = pytest.mark.anyio


async def test_410_gone_fails_the_message_and_disables_the_subscription(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver, default=Reply(410))
    subscription, _ = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    await run_until(make_worker(), world.all_sent)

    [row] = world.deliveries(subscription)
    assert (row.status, row.attempts) == ("failed", 1)
    disabled = world.subscription(subscription)
    assert not disabled.enabled and "410" in disabled.disabled_reason
    world.say("lukashenko", "war-justified", "opposes")
    assert len(world.deliveries(subscription)) == 1  # nothing more is queued for it


async def test_a_plain_4xx_is_a_permanent_failure_of_that_message(
    world: World, receiver: HTTPServer, make_worker: WorkerFactory
) -> None:
    endpoint = Receiver(receiver, default=Reply(400))
    subscription, _ = world.subscribe(endpoint.url)
    world.say("lukashenko", "war-justified", "supports")
    await run_until(make_worker(), world.all_sent)
    [row] = world.deliveries(subscription)
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 1, 400)
    assert world.subscription(subscription).enabled


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

    await run_until(worker, world.all_sent)

    assert world.subscription(flaky).failing_since is None
    assert world.subscription(flaky).enabled
    gone = world.subscription(down)
    assert not gone.enabled and "failing continuously" in gone.disabled_reason
    [row] = world.deliveries(down)
    assert row.status == "failed" and row.attempts >= 5
    assert len(world.attempts(row.id)) == row.attempts  # the failures stay in the log


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
    await run_until(worker, world.all_sent)
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
    await run_until(make_worker(webhook_concurrency=1), world.all_sent)
    assert [row.status for row in world.deliveries(subscription)] == [
        "failed",
        "paused",
        "paused",
    ]
