"""Test harness for deliveries: a scripted receiver, a world with a catalog, fast settings.

``Receiver`` answers each POST as its script says (a status, a delay, a Retry-After) and records
what arrived. ``World`` records statements through the real command bus, whose projector writes
the outbox; ``fast_settings`` shrinks every wait (timeouts, retry schedule, leases) to test size.
"""

import asyncio
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from service.config import Settings
from service.db import Database
from service.domain.commands import (
    CorrectStatement,
    DefineTopic,
    RecordStatement,
    RegisterActor,
    RetractStatement,
)
from service.domain.values import Source
from service.store.webhook_tables import attempts_table, deliveries_table, subscriptions_table
from service.webhooks import subscriptions
from service.webhooks.worker import DeliveryWorker
from service.wiring import Services, build_services

WorkerFactory = Callable[..., DeliveryWorker]
"""``make_worker(policy=..., **setting_overrides)``, the conftest fixture's type."""

SOURCE = Source("https://example.org/wire", "Wire report", "Example Wire", None)
BASE = datetime(2024, 1, 1, tzinfo=UTC)


def fast_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings of a test: private addresses allowed (the receiver is on 127.0.0.1), short waits."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "allow_private_urls": True,
        "api_key_cache_seconds": 0,
        "webhook_timeout_seconds": 2.0,
        "webhook_lease_seconds": 10.0,
        "webhook_poll_seconds": 0.05,
        "webhook_retry_delays": (0, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05),
        "webhook_retry_jitter": 0.0,
        "webhook_throttle_seconds": 0.1,
    }
    return Settings(**(values | overrides))


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status after an optional delay, with optional headers."""

    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived

    @property
    def webhook_id(self) -> str:
        return self.headers["Webhook-Id"]


class Receiver:
    """A webhook endpoint on the shared test server: scripted replies, then ``default``."""

    def __init__(self, server: HTTPServer, path: str = "/hook", default: Reply = Reply()) -> None:
        self.url = server.url_for(path)
        self.default = default
        self.received: list[Received] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        server.expect_request(path, method="POST").respond_with_handler(self._handle)

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def _handle(self, request: Request) -> Response:
        arrived = time.time()
        with self._lock:
            reply = self._script.popleft() if self._script else self.default
            self.received.append(Received(dict(request.headers), request.get_data(), arrived))
        if reply.delay:
            time.sleep(reply.delay)
        return Response("ok", status=reply.status, headers=reply.headers)

    def ids(self) -> list[str]:
        with self._lock:
            return [r.webhook_id for r in self.received]


class World:
    """The write side on a test database, with actors and topics ready to be talked about."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.services: Services = build_services(settings, database)
        self._day = 0

    def catalog(self, actors: Sequence[str], topics: Sequence[str]) -> None:
        for actor in actors:
            self.services.bus.execute(RegisterActor(actor, actor.title(), "person", "KZ"))
        for topic in topics:
            self.services.bus.execute(DefineTopic(topic, topic.title(), f"{topic} is right"))

    def say(
        self, actor: str, topic: str, stance: str, *, stated_at: datetime | None = None
    ) -> uuid.UUID:
        """Record an accepted statement; by default each one is a day later than the last."""
        self._day += 1
        statement_id = uuid.uuid4()
        self.services.bus.execute(
            RecordStatement(
                statement_id=statement_id,
                actor_id=actor,
                topic_id=topic,
                stance=stance,
                quote=f"{actor} on {topic}: {stance}",
                stated_at=stated_at or BASE + timedelta(days=self._day),
                kind="paraphrase",
                source=SOURCE,
                confidence=1.0,
            )
        )
        return statement_id

    def correct(self, statement_id: uuid.UUID, **changes: Any) -> None:
        self.services.bus.execute(
            CorrectStatement(statement_id=statement_id, reason="misquoted", **changes)
        )

    def retract(self, statement_id: uuid.UUID) -> None:
        self.services.bus.execute(RetractStatement(statement_id=statement_id, reason="fake"))

    def subscribe(self, url: str, **filters: Any) -> tuple[uuid.UUID, str]:
        """A subscription written straight to the table (the API has its own tests)."""
        with self.database.write() as session:
            view, secret = subscriptions.create_subscription(
                session.connection(),
                url=url,
                description=None,
                actor_ids=filters.get("actors"),
                topic_ids=filters.get("topics"),
                flips_only=filters.get("flips_only", False),
                created_by="test",
                now=datetime.now(UTC),
            )
        return view.id, secret.secret

    def attempts(self, delivery_id: uuid.UUID) -> list[Any]:
        """The attempt log of one delivery, oldest first."""
        a = attempts_table
        query = select(a).where(a.c.delivery_id == delivery_id).order_by(a.c.attempted_at, a.c.id)
        with self.database.read() as session:
            return list(session.connection().execute(query).all())

    def subscription(self, subscription_id: uuid.UUID) -> Any:
        s = subscriptions_table
        with self.database.read() as session:
            return session.connection().execute(select(s).where(s.c.id == subscription_id)).one()

    def all_sent(self) -> bool:
        """Nothing is waiting to be sent (every delivery delivered, failed, paused, cancelled)."""
        return all(row.status != "pending" for row in self.deliveries())

    def deliveries(self, subscription_id: uuid.UUID | None = None) -> list[Any]:
        d = deliveries_table
        query = select(d).order_by(d.c.position, d.c.actor_id, d.c.topic_id)
        if subscription_id is not None:
            query = query.where(d.c.subscription_id == subscription_id)
        with self.database.read() as session:
            return list(session.connection().execute(query).all())


def subscribe(api: TestClient, writer: dict[str, str], url: str, **filters: Any) -> dict[str, Any]:
    """A subscription made over HTTP; the answer holds its id and secret."""
    answer = api.post("/v1/webhooks", json={"url": url, **filters}, headers=writer)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def run_until(
    worker: DeliveryWorker, done: Callable[[], bool], *, timeout: float = 15.0
) -> None:
    """Call ``run_once`` (pausing briefly when nothing was due) until ``done()`` or the timeout."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the deliveries did not complete in time"
        if await worker.run_once() == 0:
            await asyncio.sleep(0.02)


async def wait_for(done: Callable[[], bool], *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.02)
