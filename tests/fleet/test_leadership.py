"""Scheduler leadership with real processes: one leader at a time, a SIGKILLed leader replaced."""

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from service.leadership import LOCK_CLASS, AlwaysLeader, leader_for
from service.pg_listener import libpq_url
from tests.fleet.kit import ROOT, stance_env


class Probe:
    """A leader_probe process; its output lines with the time each arrived."""

    def __init__(self, url: str, name: str) -> None:
        self.name = name
        self.lines: list[tuple[float, str]] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fleet.leader_probe", f"{url}?application_name={name}"],
            cwd=ROOT,
            env=stance_env(url),
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.strip()))

    def wait_for(self, word: str, timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, line in self.lines:
                if line == word:
                    return at
            time.sleep(0.05)
        raise AssertionError(f"{self.name} never said {word!r}: {self.lines}")

    def said(self, word: str) -> list[float]:
        return [at for at, line in self.lines if line == word]

    def kill(self) -> float:
        """SIGKILL the probe and reap it; returns when the signal was sent. Nothing can take
        over before that moment, but another probe can win (and its line be read) before this
        one is reaped, so the reaping is no bound to compare a takeover with."""
        sent_at = time.monotonic()
        self.process.kill()
        self.process.wait(10)
        return sent_at


@pytest.fixture
def probes(cluster_url: str) -> Iterator[list[Probe]]:
    started: list[Probe] = []
    yield started
    for probe in started:
        if probe.process.poll() is None:
            probe.kill()


def lock_holders(url: str) -> list[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.classid = %s AND l.granted",
            (LOCK_CLASS,),
        ).fetchall()
    return [row[0] for row in rows]


def test_one_leader_and_a_sigkilled_leader_is_replaced(cluster_url: str, probes: list[Probe]):
    first = Probe(cluster_url, "probe-a")
    probes.append(first)
    first.wait_for("leader")
    second = Probe(cluster_url, "probe-b")
    probes.append(second)
    second.wait_for("started")
    # The second campaigns (every 0.2 s) but cannot win while the first lives.
    time.sleep(1.0)
    assert second.said("leader") == []
    assert lock_holders(cluster_url) == ["probe-a"]

    killed_at = first.kill()
    took_over_at = second.wait_for("leader")

    assert took_over_at > killed_at  # it won because the leader died, not before
    assert lock_holders(cluster_url) == ["probe-b"]
    print(f"takeover {took_over_at - killed_at:.2f} s after SIGKILL")


def test_leadership_follows_the_connection_through_a_database_restart(cluster, cluster_url):
    changes: list[bool] = []
    leader = leader_for(cluster_url, retry_seconds=0.2, on_change=changes.append)
    leader.start()
    try:
        _until(lambda: leader.is_leader)
        cluster.restart()
        # The lock went with the old server; the leader noticed, then won it again.
        _until(lambda: changes == [True, False, True])
        assert lock_holders(cluster_url) != []
    finally:
        leader.stop()
    assert changes[-1] is False
    assert lock_holders(cluster_url) == []


def test_sqlite_always_leads():
    assert isinstance(leader_for("sqlite:///x.db"), AlwaysLeader)
    assert leader_for("sqlite:///x.db").is_leader


def _until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
