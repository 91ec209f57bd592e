"""The read-side functions the dashboard added: the record's span and revisions, and every
statement ever on a pair. On SQLite and PostgreSQL, with the demo loaded."""

from datetime import UTC, datetime

from service.config import Settings
from service.db import Database
from service.demo.loader import load_demo
from service.queries.record import revisions, statement_span
from service.queries.statements import statements_on_pair
from service.wiring import build_services
from tests.conftest import ProvisionedDatabase


def _demo(test_db: ProvisionedDatabase) -> Database:
    database = Database(test_db.engine)
    load_demo(build_services(Settings(database_url=test_db.url), database).bus)
    return database


def test_the_span_and_the_revisions_of_the_demo(test_db: ProvisionedDatabase) -> None:
    database = _demo(test_db)
    with database.read() as session:
        connection = session.connection()
        span = statement_span(connection)
        found = revisions(connection, limit=50)
        latest = revisions(connection, limit=2)
    # Every version counts: the corrected 5 January is the earliest, the article said February.
    assert span.first_stated_at == datetime(2022, 1, 5, tzinfo=UTC)
    assert span.last_stated_at == datetime(2022, 6, 25, tzinfo=UTC)
    assert [r.event_type for r in found] == ["StatementCorrected"] * 3
    assert [r.actor_id for r in found] == ["tokayev", "putin", "kamilov"]
    assert [r.position for r in found] == sorted(r.position for r in found)
    assert latest == found[1:]  # the latest ones, still oldest first
    assert all(r.known_just_before < r.recorded_at for r in found)
    assert found[2].reason and "Senate on 17 March 2022" in found[2].reason


def test_a_pair_keeps_the_statements_corrected_away_from_it(test_db: ProvisionedDatabase) -> None:
    database = _demo(test_db)
    with database.read() as session:
        connection = session.connection()
        moved_away = statements_on_pair(connection, "mirziyoyev", "ukraine-sovereignty")
        moved_here = statements_on_pair(connection, "kamilov", "ukraine-sovereignty")
        lukashenko = statements_on_pair(connection, "lukashenko", "russian-bases-in-belarus")
        one = statements_on_pair(connection, "lukashenko", "russian-bases-in-belarus", limit=1)
        nothing = statements_on_pair(connection, "rahmon", "war-justified")
    assert [s.statement_id for s in moved_away] == [s.statement_id for s in moved_here]
    (statement,) = moved_here
    assert statement.actor_id == "kamilov"
    assert [v.actor_id for v in statement.versions] == ["mirziyoyev", "kamilov"]
    assert [v.caused_by_type for v in statement.versions] == [
        "StatementRecorded",
        "StatementCorrected",
    ]
    assert [s.stated_at.day for s in lukashenko] == [27, 24]  # latest stated first
    assert [s.statement_id for s in one] == [lukashenko[0].statement_id]
    assert nothing == []
