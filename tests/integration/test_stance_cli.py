"""The replay and projection commands as a user runs them: ``python -m service`` in its own
process, on a real database of each backend."""

import os
import re
import subprocess
import sys
import uuid

from sqlalchemy import delete

from service.db import Database
from service.demo.loader import load_demo
from service.domain.commands import RegisterActor
from service.domain.events import statement_stream
from service.store.event_store import NO_STREAM, NewEvent
from service.store.read_model_tables import ReadModelTables
from service.wiring import Services
from tests.conftest import ProvisionedDatabase
from tests.integration.helpers import services_for


def _stance(test_db: ProvisionedDatabase, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env={**os.environ, "STANCE_DATABASE_URL": test_db.url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _cells(output: str) -> dict[tuple[str, str], str]:
    """The matrix ``stance replay`` printed, as (actor, topic) -> stance label."""
    if "(no stances)" in output:
        return {}
    lines = output.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("actor "))
    starts = [match.start() for match in re.finditer(r"\S+", lines[header])]
    topics = lines[header].split()[1:]
    cells = {}
    for line in lines[header + 2 :]:
        actor = line.split()[0]
        for topic, start, end in zip(topics, starts[1:], [*starts[2:], None], strict=True):
            cell = line[start:end].split()
            if cell:
                cells[(actor, topic)] = cell[1]
    return cells


def test_the_demo_replayed_from_the_command_line(test_db: ProvisionedDatabase):
    loaded = _stance(test_db, "demo")
    assert loaded.returncode == 0, loaded.stderr
    assert "0 already stored" in loaded.stdout
    article_known_at = re.search(r"as published: --known-at (\S+)", loaded.stdout)
    assert article_known_at is not None, loaded.stdout

    as_published = _stance(
        test_db, "replay", "--as-of", "2022-06-30", "--known-at", article_known_at[1]
    )
    assert as_published.returncode == 0, as_published.stderr
    cells = _cells(as_published.stdout)
    assert cells[("mirziyoyev", "ukraine-sovereignty")] == "supports"
    assert ("kamilov", "ukraine-sovereignty") not in cells
    assert cells[("lukashenko", "war-justified")] == "supports"
    assert "not applied" not in as_published.stderr

    # as known now, filtered by transliterations the catalog keeps as aliases
    now = _stance(
        test_db, "replay", "--as-of", "2022-06-30", "--actor", "Lukashenka", "--actor", "TOKAEV"
    )
    assert now.returncode == 0, now.stderr
    cells = _cells(now.stdout)
    assert {actor for actor, _topic in cells} == {"lukashenko", "tokayev"}
    assert cells[("lukashenko", "war-justified")] == "supports"

    before = _stance(test_db, "replay", "--as-of", "2022-01-01")
    assert before.returncode == 0, before.stderr
    earlier = _cells(before.stdout)
    assert ("lukashenko", "war-justified") not in earlier  # first stated on 24 February 2022
    assert ("tokayev", "csto-kazakhstan-intervention") not in earlier  # on 5 January 2022


def test_filters_that_name_nothing_or_too_much_are_usage_errors(
    test_db: ProvisionedDatabase,
):
    services = services_for(Database(test_db.engine))
    services.bus.execute(RegisterActor("kamilov", "Abdulaziz Kamilov", "person", "UZ"))
    services.bus.execute(
        RegisterActor("kamilov-jr", "Javlon Kamilov", "person", "UZ", aliases=("Kamilov",))
    )
    services.bus.execute(
        RegisterActor("kamilov-sr", "Kamilov senior", "person", "UZ", aliases=("kamilov",))
    )

    services.bus.after_write = []  # as if the writer had died before its projection ran
    services.bus.execute(RegisterActor("putin", "Vladimir Putin", "person", "RU"))

    unknown = _stance(test_db, "replay", "--as-of", "2022-06-30", "--actor", "Lukashenka")
    assert unknown.returncode == 2
    assert "no actor 'Lukashenka'" in unknown.stderr

    by_id = _stance(test_db, "replay", "--as-of", "2022-06-30", "--actor", "kamilov")
    assert by_id.returncode == 0, by_id.stderr
    assert "(no stances)" in by_id.stdout
    assert "have not applied the log's last 1 events" in by_id.stderr

    ambiguous = _stance(test_db, "replay", "--as-of", "2022-06-30", "--actor", "KAMILOV")
    assert ambiguous.returncode == 2
    assert "kamilov, kamilov-jr, kamilov-sr" in " ".join(ambiguous.stderr.split())

    unknown_topic = _stance(test_db, "replay", "--as-of", "2022-06-30", "--topic", "peace")
    assert unknown_topic.returncode == 2
    assert "no topic 'peace'" in unknown_topic.stderr

    bad_date = _stance(test_db, "replay", "--as-of", "30/06/2022")
    assert bad_date.returncode == 2
    assert "is not a date" in bad_date.stderr


def test_verify_finds_a_damaged_read_model_and_a_rebuild_repairs_it(
    test_db: ProvisionedDatabase,
):
    load_demo(services_for(Database(test_db.engine)).bus)
    current = ReadModelTables.live().current_stances
    with test_db.engine.begin() as connection:
        removed = connection.execute(delete(current).where(current.c.actor_id == "lukashenko"))
    assert removed.rowcount > 0

    damaged = _stance(test_db, "projections", "verify")
    assert damaged.returncode == 1
    assert f"current_stances: 0 rows only in the live table, {removed.rowcount} only" in (
        damaged.stderr
    )

    rebuilt = _stance(test_db, "projections", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert re.search(r"rebuilt the read models from \d+ events", rebuilt.stdout)
    repaired = _stance(test_db, "projections", "verify")
    assert repaired.returncode == 0, repaired.stderr
    assert "read models match a rebuild from the log" in repaired.stdout


def test_a_log_that_cannot_be_replayed_fails_a_rebuild_cleanly(test_db: ProvisionedDatabase):
    """An event naming a statement the log never recorded (one imported or edited by hand):
    the rebuild says which event and that nothing changed, once (its forked child met the
    event, so this process does not replay again), exits 1, and the read models still answer
    as before."""
    services = services_for(Database(test_db.engine))
    load_demo(services.bus)
    before = _stance(test_db, "replay", "--as-of", "2022-06-01")
    orphan = uuid.UUID(int=7)
    with services.database.write() as session:
        services.store.append(
            session,
            stream_id=statement_stream(orphan),
            expected_version=NO_STREAM,
            events=[NewEvent("StatementApproved", {"statement_id": str(orphan)})],
        )

    failed = _stance(test_db, "projections", "rebuild")
    assert failed.returncode == 1
    assert failed.stderr.count("StatementApproved at") == 1
    assert (
        f"error: the log cannot be replayed: StatementApproved at {_last(services)}: "
        f"no statement {orphan}; the read models are as they were"
    ) in failed.stderr
    assert "Traceback" not in failed.stderr and "instead" not in failed.stderr
    after = _stance(test_db, "replay", "--as-of", "2022-06-01")
    assert after.returncode == 0 and _cells(after.stdout) == _cells(before.stdout) != {}


def _last(services: Services) -> int:
    with services.database.read() as session:
        return services.store.last_position(session)
