"""A database outage in the middle of work, on the private cluster: ``/readyz`` says so while
it lasts and recovers after, and a live event stream stays connected and misses nothing."""

import threading
import time
from pathlib import Path

import httpx

from tests.fleet.cluster import free_port
from tests.fleet.kit import StanceProcess, stance_env, wait_ready
from tests.fleet.test_listener import run_probe


class StreamReader:
    """Follows ``/v1/events/stream`` in a thread, keeping the ids it receives."""

    def __init__(self, url: str) -> None:
        self.ids: list[int] = []
        self.closed = False
        self._url = url
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with httpx.stream("GET", self._url, timeout=httpx.Timeout(5, read=None)) as response:
                for line in response.iter_lines():
                    if line.startswith("id: "):
                        self.ids.append(int(line[4:]))
        finally:
            self.closed = True

    def wait_for(self, position: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while position not in self.ids:
            assert not self.closed, "the stream closed"
            assert time.monotonic() < deadline, f"{position} never arrived: {self.ids}"
            time.sleep(0.05)


def test_readyz_and_the_event_stream_through_a_database_restart(cluster, cluster_url, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = StanceProcess(
        ["serve", "--no-worker", "--port", str(port)],
        stance_env(cluster_url, sse_poll_seconds="0.5"),
        Path(tmp_path / "serve.log"),
    )
    server.start()
    try:
        wait_ready(base)
        stream = StreamReader(f"{base}/v1/events/stream")
        before = run_probe(cluster_url, "append")
        stream.wait_for(before)

        cluster.stop()
        down = httpx.get(f"{base}/readyz", timeout=10)
        assert down.status_code == 503
        assert down.json()["database"] == "unreachable"

        cluster.start()
        wait_ready(base)  # recovers by itself: the pool replaces its dead connections
        after = run_probe(cluster_url, "append")
        stream.wait_for(after)

        assert stream.ids == [before, after]  # the same connection, nothing lost or doubled
        assert not stream.closed
        assert server.alive
    finally:
        server.stop()
