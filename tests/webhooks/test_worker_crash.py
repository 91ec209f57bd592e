"""A delivery worker killed with SIGKILL mid-delivery loses nothing once it is restarted.

The worker runs as its own process (``python -m service.webhooks.run``); the receiver answers
slowly, so the kill lands while requests are in flight. Their rows keep the dead worker's lease;
the restarted worker claims them when the lease runs out and sends them again, under the same
``webhook-id``: every message arrives at least once.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from service.db import Database
from service.webhooks.payload import message_id
from tests.webhooks.harness import World, fast_settings

LEASE_SECONDS = 3
REPLY_DELAY = 0.3


class SlowReceiver:
    """Counts requests in progress, so the test knows a kill lands mid-delivery."""

    def __init__(self, server: HTTPServer) -> None:
        self.url = server.url_for("/slow")
        self.ids: list[str] = []
        self.active = 0
        self._lock = threading.Lock()
        server.expect_request("/slow", method="POST").respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.active += 1
        try:
            time.sleep(REPLY_DELAY)
            with self._lock:
                self.ids.append(request.headers["webhook-id"])
            return Response("ok", status=200)
        finally:
            with self._lock:
                self.active -= 1


def _worker_process(database_url: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "STANCE_DATABASE_URL": database_url,
        "STANCE_ALLOW_PRIVATE_URLS": "true",
        "STANCE_WEBHOOK_CONCURRENCY": "4",
        "STANCE_WEBHOOK_TIMEOUT_SECONDS": "2",
        "STANCE_WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS),
        "STANCE_WEBHOOK_POLL_SECONDS": "0.1",
        "STANCE_WEBHOOK_RETRY_DELAYS": "[0, 0.1, 0.1, 0.1]",
        "STANCE_LOG_LEVEL": "warning",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "service.webhooks.run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait(condition: Any, *, timeout: float, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the worker exited early: {output}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.slow
def test_sigkill_mid_delivery_then_restart_delivers_everything(
    database: Database, test_db: Any, receiver: HTTPServer
) -> None:
    endpoint = SlowReceiver(receiver)
    world = World(database, fast_settings(test_db.url))
    world.catalog(["lukashenko"], ["war-justified", "sanctions"])
    world.subscribe(endpoint.url)
    world.subscribe(endpoint.url, topics=["war-justified"])
    for stance in ("supports", "opposes", "neutral", "leans_supports", "opposes", "supports"):
        world.say("lukashenko", "war-justified", stance)
        world.say("lukashenko", "sanctions", stance)
    expected = {message_id(row.id) for row in world.deliveries()}
    assert len(expected) == 18

    first = _worker_process(test_db.url)
    try:
        # Killed once some results are recorded and more requests are in flight. (The worker
        # sends the next claimed deliveries while the last results are being recorded, so a
        # count of receipts alone does not tell that any result is stored yet.)
        _wait(
            lambda: (
                endpoint.active > 0 and any(row.status == "delivered" for row in world.deliveries())
            ),
            timeout=30,
            process=first,
        )
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    killed_at = time.monotonic()
    rows = world.deliveries()
    in_flight = [row for row in rows if row.status == "pending" and row.claimed_until]
    assert in_flight, "the kill must land while deliveries are leased"
    assert any(row.status == "delivered" for row in rows)
    assert set(endpoint.ids) < expected

    second = _worker_process(test_db.url)
    try:
        _wait(
            lambda: all(row.status == "delivered" for row in world.deliveries()),
            timeout=60,
            process=second,
        )
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=30)
        assert second.returncode == 0, output
    finally:
        if second.poll() is None:
            second.kill()

    assert time.monotonic() - killed_at >= LEASE_SECONDS - 1  # the leased ones waited it out
    received = Counter(endpoint.ids)
    assert set(received) == expected  # nothing lost, nothing foreign
    # What was in flight at the kill reached the receiver twice, under the same id both times.
    assert any(received[message_id(row.id)] == 2 for row in in_flight)
