"""LISTEN/NOTIFY across processes: another process's append wakes a waiting reader here.

The waits below have a fallback of minutes, so a reader that wakes with the other process's
position can only have been woken by its notification: the assertions are on what woke the
reader, never on how fast.
"""

import asyncio
import subprocess
import sys

import pytest

from service.notifier import EventNotifier
from service.pg_listener import PgListener
from service.signals import Purpose, channel, parse_projected
from tests.conftest import ProvisionedDatabase
from tests.fleet.kit import ROOT, stance_env

SLOW_POLL = 300.0


def run_probe(url: str, action: str) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "tests.fleet.writer_probe", url, action],
        cwd=ROOT,
        env=stance_env(url),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout.strip())


async def wake_by_other_process(url: str, purpose: Purpose, action: str) -> tuple[int, int]:
    """Wait (fallback: minutes) while another process acts; what the wake said, what it did."""
    notifier = EventNotifier()
    notifier.bind(asyncio.get_running_loop())
    listener = PgListener(url)

    def on_signal(payload: str) -> None:
        if purpose is Purpose.PROJECTED and (parsed := parse_projected(payload)):
            notifier.notify(parsed[1])
        elif payload.isdigit():
            notifier.notify(int(payload))

    listener.on(purpose, on_signal)
    listener.start()
    try:
        await asyncio.to_thread(_until_listening, listener)
        waiting = asyncio.create_task(notifier.wait(after=0, timeout=SLOW_POLL))
        position = await asyncio.to_thread(run_probe, url, action)
        await asyncio.wait_for(waiting, SLOW_POLL)
        return notifier.position, position
    finally:
        await asyncio.to_thread(listener.stop)


def _until_listening(listener: PgListener) -> None:
    import time

    while not listener.listening:
        time.sleep(0.02)


@pytest.fixture
def pg(make_database) -> ProvisionedDatabase:
    return make_database("postgresql")


def test_an_append_in_another_process_wakes_the_reader_with_its_position(pg):
    woke_with, appended = asyncio.run(wake_by_other_process(pg.url, Purpose.EVENTS, "append"))
    assert appended >= 1
    assert woke_with == appended


def test_a_projection_in_another_process_wakes_the_reader(pg):
    run_probe(pg.url, "append")
    woke_with, projected = asyncio.run(wake_by_other_process(pg.url, Purpose.PROJECTED, "catch-up"))
    assert projected >= 1
    assert woke_with == projected


def test_a_delivery_queued_in_another_process_wakes_the_delivery_worker(pg):
    async def scenario() -> tuple[int, list[str]]:
        woke = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals: list[str] = []
        listener = PgListener(pg.url)

        def on_outbox(payload: str) -> None:  # what BackgroundWork hands to DeliveryWorker.wake
            signals.append(payload)
            if payload == "" and len(signals) == 1:
                return  # the "look again" poke every connection starts with
            loop.call_soon_threadsafe(woke.set)

        listener.on(Purpose.OUTBOX, on_outbox)
        listener.start()
        try:
            await asyncio.to_thread(_until_listening, listener)
            queued = await asyncio.to_thread(run_probe, pg.url, "outbox")
            await asyncio.wait_for(woke.wait(), SLOW_POLL)
            return queued, signals
        finally:
            await asyncio.to_thread(listener.stop)

    queued, signals = asyncio.run(scenario())
    assert queued == 1  # the other process queued exactly one delivery ...
    assert len(signals) == 2  # ... and this one heard of it once, after its connection poke


def test_the_listener_reconnects_after_a_database_restart(cluster, cluster_url):
    async def scenario() -> tuple[int, int, int]:
        notifier = EventNotifier()
        notifier.bind(asyncio.get_running_loop())
        listener = PgListener(cluster_url, reconnect_seconds=0.2)
        pokes: list[str] = []
        listener.on(Purpose.EVENTS, pokes.append)
        listener.on(Purpose.EVENTS, lambda p: notifier.notify(int(p)) if p.isdigit() else None)
        listener.start()
        try:
            await asyncio.to_thread(_until_listening, listener)
            await asyncio.to_thread(cluster.restart)
            while listener.connections < 2 or not listener.listening:
                await asyncio.sleep(0.05)
            waiting = asyncio.create_task(notifier.wait(after=0, timeout=SLOW_POLL))
            position = await asyncio.to_thread(run_probe, cluster_url, "append")
            await asyncio.wait_for(waiting, SLOW_POLL)
            return notifier.position, position, pokes.count("")
        finally:
            await asyncio.to_thread(listener.stop)

    woke_with, appended, reconnect_pokes = asyncio.run(scenario())
    assert woke_with == appended
    # Each connection began with a "look again" poke, for what the outage may have hidden.
    assert reconnect_pokes == 2


def test_channels_are_per_schema():
    assert channel(Purpose.EVENTS, "public") == "stance.events.public"
    assert channel(Purpose.EVENTS, "t_1") != channel(Purpose.EVENTS, "t_2")
    assert parse_projected("read_models:42") == ("read_models", 42)
    assert parse_projected("") is None
