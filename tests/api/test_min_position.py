"""Read-your-writes across replicas: reads with ``min_position`` wait for the read models.

The event here is appended without the read models catching up, as when another replica wrote it
and has not projected it yet; the test then projects it from outside the app (another engine, as
another process would), which on PostgreSQL reaches the app through LISTEN/NOTIFY and on SQLite
through the checkpoint poll.
"""

import threading
import time
import uuid
from datetime import UTC, datetime

import httpx

from service.db import Database
from service.domain.commands import RecordStatement
from service.domain.values import Source
from tests.fleet.kit import seed_catalog
from tests.integration.helpers import services_for


def _unprojected_statement(db: Database) -> int:
    """Seed a catalog, then record a statement whose read models are left behind."""
    services = services_for(db)
    seed_catalog(services.bus, actors=1, topics=1)
    services.bus.after_write.clear()  # no catch-up after the write
    result = services.bus.execute(
        RecordStatement(
            statement_id=uuid.uuid4(),
            actor_id="actor-0",
            topic_id="topic-0",
            stance="supports",
            quote="We back it.",
            stated_at=datetime(2022, 5, 16, tzinfo=UTC),
            kind="direct_quote",
            source=Source(
                url="https://news.example.org/a", title="A", publisher="B", published_at=None
            ),
        )
    )
    return result.position


def test_a_read_waits_for_its_position_then_answers(make_client, test_db, db):
    client = make_client(min_position_timeout_seconds=60)
    position = _unprojected_statement(db)
    stale = client.get("/v1/stances/actor-0/topic-0")
    assert stale.status_code == 404  # without a position, the read answers what it has

    answers: list[httpx.Response] = []
    reader = threading.Thread(
        target=lambda: answers.append(
            client.get("/v1/stances/actor-0/topic-0", params={"min_position": position})
        )
    )
    reader.start()
    time.sleep(0.5)
    assert answers == []  # still waiting: nothing has projected the position yet

    other = services_for(Database(test_db.new_engine()))
    other.projector.catch_up()
    other.close()
    reader.join(60)

    assert len(answers) == 1
    assert answers[0].status_code == 200
    assert answers[0].json()["stance"] == "supports"


def test_the_header_works_like_the_parameter(make_client, db):
    client = make_client(min_position_timeout_seconds=60)
    services = services_for(db)
    seed_catalog(services.bus, actors=1, topics=1)  # written and projected at once
    reached = services.projector.position()
    answer = client.get("/v1/statements", headers={"X-Min-Position": str(reached)})
    assert answer.status_code == 200


def test_a_position_not_reached_in_time_is_503_with_retry_after(make_client, db):
    client = make_client(min_position_timeout_seconds=0.2)
    position = _unprojected_statement(db)

    answer = client.get("/v1/stances", headers={"X-Min-Position": str(position)})

    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["retry-after"] == "1"
    problem = answer.json()
    assert problem["type"] == "urn:stance:problem:read-models-behind"
    assert str(position) in problem["detail"]


def test_a_bad_position_is_a_validation_error(make_client):
    client = make_client()
    answer = client.get("/v1/stances", params={"min_position": "-1"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "min_position"


def test_the_schema_documents_min_position(make_client):
    document = make_client().get("/openapi.json").json()
    operation = document["paths"]["/v1/stances"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"min_position", "x-min-position"} <= names
    assert "503" in operation["responses"]
