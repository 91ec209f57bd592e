"""The fleet under load and faults, on a private PostgreSQL: nothing lost, nothing doubled.

Three API processes (``stance serve --no-worker``) and two workers (``stance worker``) share one
database. Concurrent clients post statements for 10 actors x 10 topics through all three APIs,
feeds are polled from a local site and webhooks delivered to a local receiver, while one worker
and one API process are killed with SIGKILL and started again and PostgreSQL itself restarts.
Afterwards:

- every acknowledged write is in the log exactly once, at the position it was acknowledged with;
- ``stance projections verify`` finds the read models equal to a rebuild from the log;
- every stance change reached every matching subscriber at least once, and no webhook-id ever
  came with two different bodies;
- no feed was fetched twice within its interval.

Clients retry a failed request (same ``Idempotency-Key``) on another API, as a client behind a
load balancer would; that is what makes "acknowledged exactly once" a claim about the service.
"""

import itertools
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from service.auth.registry import create_key
from service.db import Database, create_db_engine
from service.feeds.registry import add_feed
from service.store.read_model_tables import ReadModelTables
from service.store.webhook_tables import deliveries_table
from service.webhooks.subscriptions import create_subscription
from tests.fleet.cluster import PrivateCluster, free_port
from tests.fleet.kit import StanceProcess, seed_catalog, stance_env, statement_body, wait_ready
from tests.fleet.servers import FeedSite, Receiver
from tests.integration.helpers import services_for

pytestmark = pytest.mark.slow

ACTORS = TOPICS = 10
STATEMENTS = 5000
CLIENTS = 12
FEEDS = 4
FEED_INTERVAL = 5
SUBSCRIPTIONS: dict[str, dict[str, Any]] = {
    "/hook/all": {"actor_ids": None, "topic_ids": None, "flips_only": False},
    "/hook/some": {"actor_ids": ["actor-1", "actor-2", "actor-3"], "topic_ids": None},
    "/hook/flips": {"actor_ids": None, "topic_ids": ["topic-0", "topic-5"], "flips_only": True},
}


@dataclass
class Load:
    """Clients posting statements through every API, retrying on another one after a failure."""

    bases: list[str]
    key: str
    acknowledged: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    retries: int = 0
    done: int = 0
    restarted_at: float = 0.0  # when PostgreSQL was back
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, bodies: list[dict[str, Any]], clients: int) -> None:
        chunks = [bodies[n::clients] for n in range(clients)]
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(self._client, range(clients), chunks))

    def _client(self, number: int, bodies: list[dict[str, Any]]) -> None:
        with httpx.Client(timeout=30) as client:
            for index, body in enumerate(bodies):
                self._post(client, number + index, body)

    def _post(self, client: httpx.Client, turn: int, body: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Idempotency-Key": body["statement_id"]}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            base = self.bases[turn % len(self.bases)]
            turn += 1
            try:
                answer = client.post(f"{base}/v1/statements", json=body, headers=headers)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code in (200, 201):
                with self.lock:
                    self.acknowledged[body["statement_id"]] = answer.json()["position"]
                    self.done += 1
                return
            if answer is not None and answer.status_code < 500:
                with self.lock:
                    self.refused.append(f"{answer.status_code} {answer.text[:200]}")
                    self.done += 1
                return
            with self.lock:
                self.retries += 1
            time.sleep(0.2)
        with self.lock:
            self.done += 1  # never acknowledged: the client gave up


def _wait_progress(load: Load, fraction: float) -> None:
    while load.done < STATEMENTS * fraction:
        time.sleep(0.05)


def _faults(
    load: Load, apis: list[StanceProcess], workers: list[StanceProcess], cluster: PrivateCluster
) -> list[str]:
    """SIGKILL a worker, then an API process, each started again; then restart PostgreSQL."""
    log: list[str] = []
    _wait_progress(load, 0.2)
    workers[0].kill()
    log.append(f"worker 0 killed at {load.done}")
    time.sleep(1)
    workers[0].start()
    _wait_progress(load, 0.45)
    apis[1].kill()
    log.append(f"api 1 killed at {load.done}")
    time.sleep(1)
    apis[1].start()
    _wait_progress(load, 0.7)
    log.append(f"postgresql restart at {load.done}")
    cluster.restart()
    load.restarted_at = time.time()
    return log


def test_a_fleet_loses_and_doubles_nothing_under_kills_and_a_database_restart(
    cluster: PrivateCluster, cluster_url: str, tmp_path: Path
):
    database = Database(create_db_engine(cluster_url))
    seed_catalog(services_for(database).bus, actors=ACTORS, topics=TOPICS)
    receiver, site = Receiver(), FeedSite()
    now = datetime.now(UTC)
    with database.write() as session:
        key = create_key(session, name="fleet-clients", can_write=True).key
        for path, wanted in SUBSCRIPTIONS.items():
            create_subscription(
                session.connection(),
                url=receiver.url + path,
                description=path,
                actor_ids=wanted.get("actor_ids"),
                topic_ids=wanted.get("topic_ids"),
                flips_only=wanted.get("flips_only", False),
                created_by="test",
                now=now,
            )
    for n in range(FEEDS):
        add_feed(
            database,
            url=f"{site.url}/feed/{n}",
            kind="news",
            interval_seconds=FEED_INTERVAL,
            name=None,
            created_by="test",
            now=now,
        )
    env = stance_env(
        cluster_url,
        allow_private_urls="true",
        feed_min_interval_seconds=str(FEED_INTERVAL),
        feed_lease_seconds="10",
        scheduler_interval_seconds="1",
        webhook_poll_seconds="5",
        webhook_timeout_seconds="5",
        webhook_lease_seconds="15",
        webhook_retry_delays="[0, 1, 2, 5, 10]",
        projector_poll_seconds="5",
        leader_retry_seconds="1",
        log_level="warning",
    )
    ports = [free_port() for _ in range(3)]
    apis = [
        StanceProcess(["serve", "--no-worker", "--port", str(p)], env, tmp_path / f"api{p}.log")
        for p in ports
    ]
    workers = [StanceProcess(["worker"], env, tmp_path / f"worker{n}.log") for n in range(2)]
    processes = [*apis, *workers]
    rng = random.Random(2026)
    bodies = [statement_body(rng, actors=ACTORS, topics=TOPICS) for _ in range(STATEMENTS)]
    try:
        for process in processes:
            process.start()
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base in bases:
            wait_ready(base)
        load = Load(bases, key)
        fault_log: list[str] = []
        faults = threading.Thread(
            target=lambda: fault_log.extend(_faults(load, apis, workers, cluster)), daemon=True
        )
        started = time.monotonic()
        faults.start()
        load.run(bodies, CLIENTS)
        load_seconds = time.monotonic() - started
        faults.join(120)
        assert not faults.is_alive()
        expected = _drain(database, receiver)
    finally:
        for process in processes:
            process.stop()
        receiver.close()
        site.close()
    print(
        f"\n{STATEMENTS} statements in {load_seconds:.1f} s ({STATEMENTS / load_seconds:.0f}/s), "
        f"{load.retries} client retries; faults: {fault_log}; "
        f"{sum(len(v) for v in receiver.bodies.values())} webhooks received, "
        f"{sum(len(v) for v in expected.values())} changes x subscribers expected; "
        f"feed fetches: {[len(v) for v in site.fetches.values()]}"
    )

    # Every acknowledged write is in the log exactly once, where it was acknowledged.
    assert load.refused == []
    assert len(load.acknowledged) == STATEMENTS
    with database.read() as session:
        rows = session.execute(
            text(
                "SELECT data->>'statement_id', position FROM events "
                "WHERE type = 'StatementRecorded'"
            )
        ).all()
    counts = Counter(statement_id for statement_id, _ in rows)
    positions = dict(rows)
    assert all(counts[s] == 1 for s in load.acknowledged)
    assert all(positions[s] == p for s, p in load.acknowledged.items())
    assert sum(counts.values()) == len(counts)  # no statement recorded twice at all

    # The read models equal a rebuild from the log.
    verify = StanceProcess(["projections", "verify"], env, tmp_path / "verify.log")
    verify.start()
    assert verify.process is not None
    assert verify.process.wait(300) == 0, (tmp_path / "verify.log").read_text()

    # Every change reached every matching subscriber; a webhook-id never carried two bodies.
    for path, changes in expected.items():
        assert changes <= receiver.seen(path), f"{path}: {len(changes - receiver.seen(path))} lost"
    assert all(len(digests) == 1 for digests in receiver.ids.values())

    # No feed was fetched twice within its interval; and polling went on through the faults.
    for path, fetched in site.fetches.items():
        gaps = [later - earlier for earlier, later in itertools.pairwise(fetched)]
        assert min(gaps, default=FEED_INTERVAL) >= FEED_INTERVAL - 0.05, (path, gaps)
    assert len(site.fetches) == FEEDS
    # ... and went on after the database restart, on whichever worker led by then.
    assert load.restarted_at > 0
    assert all(max(fetched) > load.restarted_at for fetched in site.fetches.values())
    database.dispose()


def _drain(database: Database, receiver: Receiver) -> dict[str, set[tuple[int, str, str]]]:
    """Wait until the read models reached the log's end and every change was received; the
    (position, actor, topic) each subscriber must have seen."""
    deadline = time.monotonic() + 120
    services = services_for(database)
    while True:
        expected = _expected_deliveries(database)
        caught_up = services.projector.lag() == 0
        if caught_up and all(want <= receiver.seen(p) for p, want in expected.items()):
            with database.read() as session:
                pending = session.execute(
                    select(deliveries_table.c.id).where(deliveries_table.c.status != "delivered")
                ).all()
            if not pending:
                return expected
        if time.monotonic() > deadline:
            return expected  # the assertions say what is missing
        time.sleep(0.5)


def _expected_deliveries(database: Database) -> dict[str, set[tuple[int, str, str]]]:
    changes = ReadModelTables.live().stance_changes
    with database.read() as session:
        rows = session.execute(
            select(changes.c.position, changes.c.actor_id, changes.c.topic_id, changes.c.flip)
        ).all()
    expected: dict[str, set[tuple[int, str, str]]] = {}
    for path, wanted in SUBSCRIPTIONS.items():
        expected[path] = {
            (row.position, row.actor_id, row.topic_id)
            for row in rows
            if (wanted.get("actor_ids") is None or row.actor_id in wanted["actor_ids"])
            and (wanted.get("topic_ids") is None or row.topic_id in wanted["topic_ids"])
            and (row.flip or not wanted.get("flips_only", False))
        }
    return expected


def test_statement_ids_are_fresh_per_run():
    """The load's bodies are reproducible (seeded) but never collide with each other."""
    rng = random.Random(2026)
    ids = {statement_body(rng, actors=2, topics=2)["statement_id"] for _ in range(1000)}
    assert len(ids) == 1000
    assert all(uuid.UUID(i).version == 4 for i in ids)
