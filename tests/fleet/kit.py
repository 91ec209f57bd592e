"""What the fleet tests share: a catalog to write against, statements, and real processes."""

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from service.commands import CommandBus
from service.domain.commands import DefineTopic, RecordStatement, RegisterActor
from service.domain.values import Source

ROOT = Path(__file__).resolve().parents[2]
STANCES = ["opposes", "leans_opposes", "neutral", "leans_supports", "supports"]
SOURCE = {"url": "https://news.example.org/a", "title": "A report", "publisher": "Example"}


def actor_ids(count: int) -> list[str]:
    return [f"actor-{n}" for n in range(count)]


def topic_ids(count: int) -> list[str]:
    return [f"topic-{n}" for n in range(count)]


def seed_catalog(bus: CommandBus, *, actors: int, topics: int) -> None:
    """Actors and topics, through the command bus (idempotent by event id)."""
    for actor in actor_ids(actors):
        bus.execute(
            RegisterActor(actor_id=actor, name=actor.title(), kind="person", country="BY"),
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, actor),
            metadata={"recorded_by": "test"},
        )
    for topic in topic_ids(topics):
        bus.execute(
            DefineTopic(topic_id=topic, title=topic.title(), proposition=f"{topic} is right"),
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, topic),
            metadata={"recorded_by": "test"},
        )


def statement_body(rng: random.Random, *, actors: int, topics: int) -> dict[str, Any]:
    """A statement for POST /v1/statements, on a random pair, stance and day of 2022."""
    day = datetime(2022, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(365))
    return {
        "statement_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "actor_id": f"actor-{rng.randrange(actors)}",
        "topic_id": f"topic-{rng.randrange(topics)}",
        "stance": rng.choice(STANCES),
        "quote": "A position, stated.",
        "stated_at": day.isoformat(),
        "kind": "direct_quote",
        "source": SOURCE,
    }


def record_command(body: dict[str, Any]) -> RecordStatement:
    return RecordStatement(
        statement_id=uuid.UUID(body["statement_id"]),
        actor_id=body["actor_id"],
        topic_id=body["topic_id"],
        stance=body["stance"],
        quote=body["quote"],
        stated_at=datetime.fromisoformat(body["stated_at"]),
        kind=body["kind"],
        source=Source(**SOURCE, published_at=None),
    )


def stance_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a ``stance`` process on ``database_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STANCE_")}
    env["STANCE_DATABASE_URL"] = database_url
    env["STANCE_MIGRATIONS_DIR"] = str(ROOT / "migrations")
    env["PYTHONUNBUFFERED"] = "1"
    env.update({f"STANCE_{k.upper()}": v for k, v in settings.items()})
    return env


class StanceProcess:
    """One ``stance`` process (``serve --no-worker`` or ``worker``), killable and restartable."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", *self.args],
            env=self.env,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lease given back, connections cut."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def wait_ready(base_url: str, *, timeout: float = 60.0) -> None:
    """Until ``/readyz`` answers 200 (the process migrated and reaches its database)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{base_url} not ready after {timeout} s")
        time.sleep(0.2)
