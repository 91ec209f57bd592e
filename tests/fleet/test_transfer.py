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
from service.store.transfer import MalformedLog, check_lines, export_lines
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


def export_file(database: Database, path: Path) -> None:
    """What ``stance events export`` writes, made in this process (the CLI is tested above)."""
    with database.read() as session, path.open("wb") as out:
        out.writelines(export_lines(EventStore(), session))


def build_history(database: Database, rng: random.Random, *, statements: int = 150) -> None:
    """Statements, corrections and retractions spread over the log, so that ``known_at`` matters."""
    services = services_for(database)
    seed_catalog(services.bus, actors=5, topics=4)
    recorded: list[uuid.UUID] = []
    for n in range(statements):
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
    build_history(Database(source.engine), random.Random(1), statements=40)
    exported = tmp_path / "log.jsonl"
    export_file(Database(source.engine), exported)
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


def _exported_lines(make_database, tmp_path: Path) -> list[bytes]:
    source = make_database("sqlite")
    seed_catalog(services_for(Database(source.engine)).bus, actors=3, topics=0)
    exported = tmp_path / "log.jsonl"
    export_file(Database(source.engine), exported)
    return exported.read_bytes().splitlines()


def _spoil(record: dict, field: str, value: object) -> bytes:
    return orjson.dumps({**record, field: value})


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda r: b"not json", "not JSON"),
        (lambda r: b"[1, 2]", "not a JSON object"),
        (lambda r: b'{"event_id": "x"}', "missing stream_id"),
        (lambda r: _spoil(r, "event_id", "not-a-uuid"), "event_id must be a UUID"),
        (lambda r: _spoil(r, "recorded_at", "2026-12-01T08:00:00"), "must carry its UTC offset"),
        (lambda r: _spoil(r, "version", -1), "version must be an integer from 0"),
        (lambda r: _spoil(r, "version", True), "version must be an integer from 0"),
        (lambda r: _spoil(r, "data", [1]), "data must be a JSON object"),
        (lambda r: _spoil(r, "schema_version", 0), "schema_version must be an integer from 1"),
        (lambda r: _spoil(r, "stream_id", ""), "stream_id must be a non-empty string"),
    ],
)
def test_each_malformed_line_is_named(make_database, tmp_path, spoil, message):
    lines = _exported_lines(make_database, tmp_path)
    lines[1] = spoil(orjson.loads(lines[1]))
    with pytest.raises(MalformedLog) as raised:
        check_lines(lines)
    assert [e.line for e in raised.value.errors] == [2]
    assert message in raised.value.errors[0].message


def test_the_file_is_checked_whole_duplicates_and_gaps_too(make_database, tmp_path):
    lines = _exported_lines(make_database, tmp_path)
    gap = orjson.loads(lines[2])
    lines.append(orjson.dumps({**gap, "event_id": str(uuid.uuid4()), "version": 5}))
    lines.append(lines[0])
    with pytest.raises(MalformedLog) as raised:
        check_lines(lines)
    assert [(e.line, e.message.split(" ")[0]) for e in raised.value.errors] == [
        (4, "stream"),
        (5, "event_id"),
    ]


def test_the_command_refuses_a_malformed_file_and_imports_nothing(make_database, tmp_path):
    lines = _exported_lines(make_database, tmp_path)
    lines[1] = b"not json"
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join(lines) + b"\n")
    target = make_database("sqlite")

    done = stance_cli(target.url, "events", "import", str(bad))

    assert done.returncode == 2
    assert f"{bad}:line 2: not JSON" in done.stderr
    assert "nothing imported" in done.stderr
    assert raw_log(Database(target.engine)) == []


def test_a_conflict_with_the_target_imports_nothing(make_database, tmp_path):
    source = make_database("sqlite")
    seed_catalog(services_for(Database(source.engine)).bus, actors=3, topics=0)
    exported = tmp_path / "log.jsonl"
    export_file(Database(source.engine), exported)
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
