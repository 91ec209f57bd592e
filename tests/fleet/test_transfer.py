"""``stance events export|import``: a whole log moved from PostgreSQL to SQLite answers every
bitemporal question the same; bad files and conflicts import nothing and name the line."""

import random
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from service.db import Database, create_db_engine
from service.domain.commands import CorrectStatement, RetractStatement
from service.queries import stances
from service.store.event_store import EventStore, NewEvent, RecordedEvent
from tests.fleet.kit import ROOT, record_command, seed_catalog, stance_env, statement_body
from tests.integration.helpers import services_for


def stance_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=ROOT,
        env=stance_env(url),
        capture_output=True,
        text=True,
        timeout=300,
    )


def build_history(database: Database, rng: random.Random) -> None:
    """Statements, corrections and retractions spread over the log, so that ``known_at`` matters."""
    services = services_for(database)
    seed_catalog(services.bus, actors=5, topics=4)
    recorded: list[uuid.UUID] = []
    for n in range(150):
        body = statement_body(rng, actors=5, topics=4)
        services.bus.execute(record_command(body), metadata={"recorded_by": "test"})
        recorded.append(uuid.UUID(body["statement_id"]))
        if n % 5 == 4:
            target = rng.choice(recorded)
            services.bus.execute(
                CorrectStatement(
                    statement_id=target,
                    reason="the record was wrong",
                    stance=rng.choice(["opposes", "supports", "neutral"]),
                    stated_at=datetime(2022, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(365)),
                ),
                metadata={"recorded_by": "test"},
            )
        if n % 17 == 16:
            target = recorded.pop(rng.randrange(len(recorded)))
            services.bus.execute(
                RetractStatement(statement_id=target, reason="withdrawn"),
                metadata={"recorded_by": "test"},
            )


def raw_log(database: Database) -> list[RecordedEvent]:
    """Every event with every column, as stored (no upcasting)."""
    with database.read() as session:
        return EventStore().read_stored(session, limit=10_000_000)


def test_a_log_moved_from_postgresql_to_sqlite_answers_the_same(make_database, tmp_path: Path):
    rng = random.Random(8)
    source = make_database("postgresql")
    source_db = Database(source.engine)
    build_history(source_db, rng)
    exported = tmp_path / "log.jsonl"

    done = stance_cli(source.url, "events", "export", "--output", str(exported))
    assert done.returncode == 0, done.stderr
    target_url = f"sqlite:///{tmp_path / 'moved.db'}"
    done = stance_cli(target_url, "events", "import", str(exported))
    assert done.returncode == 0, done.stderr
    target_db = Database(create_db_engine(target_url))

    assert raw_log(target_db) == raw_log(source_db)
    log = raw_log(source_db)
    first = next(e.recorded_at for e in log if e.type == "StatementRecorded")
    last = log[-1].recorded_at
    answers = []
    span = (last - first).total_seconds()
    for _ in range(20):
        as_of = datetime(2022, 1, 1, tzinfo=UTC) + timedelta(days=rng.uniform(0, 400))
        known_at = first + timedelta(seconds=rng.uniform(0, span))
        with source_db.read() as a, target_db.read() as b:
            before = stances(a.connection(), as_of=as_of, known_at=known_at)
            after = stances(b.connection(), as_of=as_of, known_at=known_at)
        assert after == before
        answers.append(repr(before))
    # The pairs asked real questions: mostly with stances, and with answers that differ.
    assert sum(1 for answer in answers if answer != "[]") >= 15
    assert len(set(answers)) >= 10
    with source_db.read() as a, target_db.read() as b:
        assert stances(b.connection()) == stances(a.connection())
    target_db.dispose()


def test_an_import_twice_imports_once(make_database, tmp_path: Path):
    source = make_database("sqlite")
    build_history(Database(source.engine), random.Random(1))
    exported = tmp_path / "log.jsonl"
    assert stance_cli(source.url, "events", "export", "-o", str(exported)).returncode == 0
    target = make_database("postgresql")

    first = stance_cli(target.url, "events", "import", str(exported))
    again = stance_cli(target.url, "events", "import", str(exported))

    lines = len(exported.read_bytes().splitlines())
    assert f"{lines} imported, 0 already stored" in first.stdout
    assert f"0 imported, {lines} already stored" in again.stdout
    assert raw_log(Database(target.engine)) == raw_log(Database(source.engine))


def test_export_after_a_position_and_schema_versions_kept(make_database, tmp_path: Path):
    source = make_database("postgresql")
    database = Database(source.engine)
    services = services_for(database)
    seed_catalog(services.bus, actors=2, topics=1)
    with database.write() as session:
        services.store.append(
            session,
            stream_id="legacy-1",
            expected_version=None,
            events=[NewEvent("LegacyThing", {"old": True}, schema_version=3)],
        )
    done = stance_cli(source.url, "events", "export", "--after", "2")
    records = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [r["position"] for r in records] == [3, 4]
    assert records[-1]["schema_version"] == 3
    assert records[-1]["data"] == {"old": True}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"event_id": "x"}', "missing stream_id"),
        (None, "event_id must be a UUID"),
        (None, "recorded_at must carry its UTC offset"),
        (None, "version must be an integer from 0"),
    ],
)
def test_a_malformed_line_is_named_and_nothing_is_imported(make_database, tmp_path, line, message):
    source = make_database("sqlite")
    services = services_for(Database(source.engine))
    seed_catalog(services.bus, actors=3, topics=0)
    exported = tmp_path / "log.jsonl"
    assert stance_cli(source.url, "events", "export", "-o", str(exported)).returncode == 0
    lines = exported.read_bytes().splitlines()
    if line is None:
        record = orjson.loads(lines[1])
        if "UUID" in message:
            record["event_id"] = "not-a-uuid"
        elif "offset" in message:
            record["recorded_at"] = "2026-12-01T08:00:00"
        else:
            record["version"] = -1
        line = orjson.dumps(record)
    lines[1] = line
    exported.write_bytes(b"\n".join(lines) + b"\n")
    target = make_database("sqlite")

    done = stance_cli(target.url, "events", "import", str(exported))

    assert done.returncode == 2
    assert f"line 2: {message}" in done.stderr
    assert "nothing imported" in done.stderr
    assert raw_log(Database(target.engine)) == []


def test_a_conflict_with_the_target_imports_nothing(make_database, tmp_path):
    source = make_database("sqlite")
    seed_catalog(services_for(Database(source.engine)).bus, actors=3, topics=0)
    exported = tmp_path / "log.jsonl"
    assert stance_cli(source.url, "events", "export", "-o", str(exported)).returncode == 0
    target = make_database("postgresql")
    target_db = Database(target.engine)
    # The target already has actor-2's stream, from another event: its version 0 is taken.
    with target_db.write() as session:
        services_for(target_db).store.append(
            session, stream_id="actor-actor-2", expected_version=-1, events=[NewEvent("X", {})]
        )

    done = stance_cli(target.url, "events", "import", str(exported))

    assert done.returncode == 1
    assert "line 3: stream 'actor-actor-2' is at version 0 here" in done.stderr
    assert len(raw_log(target_db)) == 1  # the earlier lines were rolled back with the rest
