"""A projector killed with SIGKILL in the middle of a large catch-up loses and doubles nothing.

The projector runs as its own process (``stance projections catch-up``) with small batches; the
test kills it once the checkpoint has moved but before the end, restarts it, and then asks
``stance projections verify`` (a rebuild compared with the live tables) for any difference.
"""

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from service.config import Settings
from service.db import Database
from service.domain.commands import DefineTopic, RegisterActor
from service.domain.events import (
    StatementChanges,
    StatementCorrected,
    StatementRecorded,
    encode,
    statement_stream,
)
from service.domain.stances import Stance
from service.domain.values import RecordingMethod, Source, StatementKind
from service.projections import checkpoints
from service.projections.runner import CHECKPOINT
from service.store.event_store import NO_STREAM, NewEvent
from service.store.read_model_tables import ReadModelTables
from service.wiring import build_services

STATEMENTS = 6000
SOURCE = Source("https://example.org/wire", "Wire report", "Example Wire", None)


def _populate(database: Database) -> int:
    """Actors, topics, and many statements (some corrected), written without projecting."""
    services = build_services(Settings(), database)
    services.bus.after_write = []
    actors, topics = [f"actor-{n}" for n in range(10)], [f"topic-{n}" for n in range(10)]
    for actor in actors:
        services.bus.execute(RegisterActor(actor, actor, "person", "KZ"))
    for topic in topics:
        services.bus.execute(DefineTopic(topic, topic, f"{topic} is right"))
    rng = random.Random(7)
    base = datetime(2022, 1, 1, tzinfo=UTC)
    with database.write() as session:
        for n in range(STATEMENTS):
            statement_id = uuid.uuid4()
            events = [
                StatementRecorded(
                    statement_id=statement_id,
                    actor_id=rng.choice(actors),
                    topic_id=rng.choice(topics),
                    stance=rng.choice(list(Stance)),
                    quote=f"statement {n}",
                    stated_at=base + timedelta(days=rng.randrange(900)),
                    kind=StatementKind.PARAPHRASE,
                    source=SOURCE,
                    confidence=0.9,
                    method=RecordingMethod.MANUAL,
                    requires_review=False,
                )
            ]
            if n % 5 == 0:
                events.append(
                    StatementCorrected(
                        statement_id=statement_id,
                        changes=StatementChanges(stance=rng.choice(list(Stance))),
                        reason="checked the recording",
                    )
                )
            services.store.append(
                session,
                stream_id=statement_stream(statement_id),
                expected_version=NO_STREAM,
                events=[NewEvent(*encode(event)) for event in events],
            )
        return services.store.last_position(session)


def _checkpoint(database: Database) -> int:
    with database.read() as session:
        return checkpoints.read(session.connection(), CHECKPOINT)


def _stance_cli(url: str, *args: str, batch: int = 100) -> subprocess.Popen[str]:
    env = {**os.environ, "STANCE_DATABASE_URL": url, "STANCE_PROJECTOR_BATCH_SIZE": str(batch)}
    return subprocess.Popen(
        [sys.executable, "-m", "service", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_mid_catch_up_then_restart_applies_everything_once(make_database, backend: str):
    test_db = make_database(backend)
    database = Database(test_db.engine)
    last = _populate(database)

    projector = _stance_cli(test_db.url, "projections", "catch-up")
    deadline = time.monotonic() + 120
    while _checkpoint(database) < last // 4 and time.monotonic() < deadline:
        assert projector.poll() is None, projector.stdout.read() if projector.stdout else ""
        time.sleep(0.02)
    projector.send_signal(signal.SIGKILL)
    projector.wait(30)
    killed_at = _checkpoint(database)
    assert 0 < killed_at < last, "the kill must land in the middle of the catch-up"

    restarted = _stance_cli(test_db.url, "projections", "catch-up", batch=1000)
    output, _ = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, output
    assert _checkpoint(database) == last

    verify = _stance_cli(test_db.url, "projections", "verify")
    output, _ = verify.communicate(timeout=300)
    assert verify.returncode == 0, output
    assert "match" in output

    tables = ReadModelTables.live()
    with database.read() as session:
        versions = session.connection().execute(
            select(func.count()).select_from(tables.statement_versions)
        )
        assert versions.scalar_one() == STATEMENTS + STATEMENTS // 5
