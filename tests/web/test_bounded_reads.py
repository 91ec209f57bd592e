"""The page's own reads are bounded: the matrix is one query whatever its size, and the catalog
and the controls add a fixed few. Counted at the driver, on SQLite and PostgreSQL."""

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from service.demo.loader import DemoLoadReport
from service.domain.commands import DefineTopic, RecordStatement, RegisterActor
from service.domain.stances import Stance
from service.domain.values import Source, StatementKind
from tests.web.html import stance_classes
from tests.web.sql_counter import SqlCounter, counting

SOURCE = Source("https://example.org/wire", "Wire report", "Example Wire", None)


def _grow(client: TestClient, *, actors: int, topics: int) -> None:
    """A bigger record: ``actors`` x ``topics`` more pairs, each with two statements."""
    bus = client.app.state.runtime.services.bus  # type: ignore[attr-defined]
    for n in range(actors):
        bus.execute(RegisterActor(f"actor-{n}", f"Actor {n}", "person", "KZ"))
    for n in range(topics):
        bus.execute(DefineTopic(f"topic-{n}", f"Topic {n}", f"Topic {n} is right"))
    stances = list(Stance)
    for a in range(actors):
        for t in range(topics):
            for k in range(2):
                bus.execute(
                    RecordStatement(
                        statement_id=uuid.uuid4(),
                        actor_id=f"actor-{a}",
                        topic_id=f"topic-{t}",
                        stance=stances[(a + t + k) % len(stances)],
                        quote=f"statement {a}-{t}-{k}",
                        stated_at=datetime(2021, 1, 1, tzinfo=UTC) + timedelta(days=a + t + 30 * k),
                        kind=StatementKind.PARAPHRASE,
                        source=SOURCE,
                        confidence=0.9,
                    )
                )


def _matrix_reads(client: TestClient, **params: str) -> tuple[SqlCounter, str]:
    engine = client.app.state.runtime.database.engine  # type: ignore[attr-defined]
    with counting(engine) as counter:
        page = client.get("/", params=params)
    assert page.status_code == 200
    return counter, page.text


def _uncached(counter: SqlCounter) -> list[str]:
    """The statements but the read of cells not built before (an ``IN`` list on SQLite, an
    array on PostgreSQL)."""
    by_id = ("WHERE i.interval_id IN", "AS wanted (id)")
    return [sql for sql in counter.statements if not any(read in sql for read in by_id)]


def test_the_matrix_is_one_query_whatever_its_size(
    client: TestClient, demo: DemoLoadReport
) -> None:
    small_now, small_page = _matrix_reads(client)
    small_replay, _ = _matrix_reads(client, as_of="2022-06-30", known_at="2030-01-01")
    _grow(client, actors=12, topics=6)
    big_now, big_page = _matrix_reads(client)
    big_replay, _ = _matrix_reads(client, as_of="2022-06-30", known_at="2030-01-01")

    assert len(stance_classes(big_page)) > len(stance_classes(small_page)) + 60
    for counter in (small_now, big_now, small_replay, big_replay):
        assert len(counter.matrix_queries()) == 1
        # The current matrix too is a probe of the interval tree (the replay at the end of
        # valid time), not a read of every row of current_stances.
        assert counter.reading("current_stances") == []
    # A matrix also reads the rows of the cells the process has not built before (at most one
    # statement, whatever the size; none when all are cached), so those are left out here.
    for counter in (small_now, big_now, small_replay, big_replay):
        assert len(counter.statements) - len(_uncached(counter)) <= 1
    assert len(_uncached(big_now)) == len(_uncached(small_now))
    assert len(_uncached(big_replay)) == len(_uncached(small_replay))
    assert len(_uncached(big_now)) <= 6  # key check aside: actors, topics, matrix, span, revisions


def test_a_timeline_reads_a_fixed_number_of_times(client: TestClient, demo: DemoLoadReport) -> None:
    engine = client.app.state.runtime.database.engine  # type: ignore[attr-defined]
    with counting(engine) as counter:
        assert client.get("/actors/kamilov/ukraine-sovereignty").status_code == 200
    statement_reads = counter.reading("statement_versions")
    assert len(statement_reads) <= 3  # the stance, the pair's statements (and no walk per row)
    assert counter.reading("events") == []
