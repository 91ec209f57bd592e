"""FeedScheduler on APScheduler 3: runs at start, never overlaps itself, stops cleanly."""

import asyncio
from typing import Any

import pytest

from service.scheduler import FeedScheduler

pytestmark = pytest.mark.anyio


class SlowPoller:
    """Stands in for ``FeedPoller``: each cycle takes ``seconds``; records overlaps."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0
        self.running = 0
        self.most_at_once = 0
        self.finished = 0

    async def poll_due(self) -> list[Any]:
        self.calls += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.running -= 1
        self.finished += 1
        return []


async def test_the_first_cycle_runs_at_start_and_cycles_repeat():
    poller = SlowPoller(0.0)
    scheduler = FeedScheduler(poller, interval_seconds=0.1)  # type: ignore[arg-type]
    scheduler.start()
    await asyncio.sleep(0.05)
    assert poller.calls == 1
    await asyncio.sleep(0.3)
    await scheduler.stop()
    assert poller.calls >= 3 and not scheduler.running


async def test_a_long_cycle_is_never_joined_by_another():
    poller = SlowPoller(0.35)
    scheduler = FeedScheduler(poller, interval_seconds=0.1)  # type: ignore[arg-type]
    scheduler.start()
    await asyncio.sleep(1.0)
    await scheduler.stop()
    assert poller.most_at_once == 1
    assert 2 <= poller.calls <= 4


async def test_stop_waits_for_the_cycle_in_flight():
    poller = SlowPoller(0.3)
    scheduler = FeedScheduler(poller, interval_seconds=10)  # type: ignore[arg-type]
    scheduler.start()
    await asyncio.sleep(0.05)
    await scheduler.stop(timeout=5)
    assert poller.finished == 1 and poller.running == 0


async def test_stop_cancels_a_cycle_that_outlasts_the_timeout():
    poller = SlowPoller(30)
    scheduler = FeedScheduler(poller, interval_seconds=10)  # type: ignore[arg-type]
    scheduler.start()
    await asyncio.sleep(0.05)
    await scheduler.stop(timeout=0.1)
    assert poller.finished == 0 and poller.running == 0


async def test_a_failing_cycle_does_not_stop_the_schedule():
    calls = 0

    class Failing:
        async def poll_due(self) -> list[Any]:
            nonlocal calls
            calls += 1
            raise RuntimeError("database unreachable")

    scheduler = FeedScheduler(Failing(), interval_seconds=0.1)  # type: ignore[arg-type]
    scheduler.start()
    await asyncio.sleep(0.35)
    await scheduler.stop()
    assert calls >= 3
