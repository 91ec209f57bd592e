"""The resource routes over HTTP: catalog, statements and their later events, stances and replay.

Each test runs on SQLite and PostgreSQL (through ``test_db``); errors are checked as problems.
"""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import assert_problem

ACTOR = {
    "actor_id": "mirziyoyev",
    "name": "Shavkat Mirziyoyev",
    "kind": "person",
    "country": "UZ",
    "role": "President of Uzbekistan",
    "aliases": ["Mirziyoev"],
}
KAMILOV = {**ACTOR, "actor_id": "kamilov", "name": "Abdulaziz Kamilov", "role": "Foreign Minister"}
TOPIC = {
    "topic_id": "ukraine-sovereignty",
    "title": "Ukraine's sovereignty",
    "proposition": "Ukraine's sovereignty and territorial integrity should be recognised",
    "keywords": ["sovereignty"],
}
SOURCE = {"url": "https://example.org/letters/1", "title": "Letter", "publisher": "Letters"}


def statement(**overrides: Any) -> dict[str, Any]:
    return {
        "actor_id": "mirziyoyev",
        "topic_id": "ukraine-sovereignty",
        "stance": "supports",
        "quote": "We recognize the sovereignty of Ukraine.",
        "stated_at": "2022-05-16",
        "kind": "direct_quote",
        "source": SOURCE,
        **overrides,
    }


@pytest.fixture
def writer(client: TestClient, make_key: Callable[..., str]) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {make_key('newsroom')}"}
    for path, body in (("/v1/actors", ACTOR), ("/v1/actors", KAMILOV), ("/v1/topics", TOPIC)):
        assert client.post(path, json=body, headers=headers).status_code == 201
    return headers


def test_a_statement_becomes_the_stance_with_its_source(client: TestClient, writer):
    posted = client.post("/v1/statements", json=statement(), headers=writer)
    assert posted.status_code == 201, posted.text
    written = posted.json()

    one = client.get("/v1/stances/mirziyoyev/ukraine-sovereignty").json()
    matrix = client.get("/v1/stances", params={"topic": "ukraine-sovereignty"}).json()
    detail = client.get(f"/v1/statements/{written['statement_id']}").json()

    assert one["stance"] == "supports" and one["score"] == 2
    assert one["statement"]["statement_id"] == written["statement_id"]
    assert one["statement"]["source"]["url"] == SOURCE["url"]
    assert one["since"].startswith("2022-05-16")
    assert [(s["actor"], s["stance"]) for s in matrix["stances"]] == [("mirziyoyev", "supports")]
    assert detail["position"] == written["position"] and detail["status"] == "accepted"


def test_a_correction_moves_the_stance_and_known_at_replays_the_old_record(
    client: TestClient, writer
):
    written = client.post("/v1/statements", json=statement(), headers=writer).json()
    before = client.get(f"/v1/statements/{written['statement_id']}").json()
    corrected = client.post(
        f"/v1/statements/{written['statement_id']}/corrections",
        json={"actor_id": "kamilov", "stated_at": "2022-03-17", "reason": "the Senate, 17 March"},
        headers=writer,
    )
    assert corrected.status_code == 201, corrected.text

    now = client.get("/v1/stances", params={"topic": "ukraine-sovereignty"}).json()["stances"]
    known_then = client.get(
        "/v1/stances", params={"known_at": before["recorded_at"], "topic": "ukraine-sovereignty"}
    ).json()["stances"]
    history = client.get("/v1/stances/mirziyoyev/ukraine-sovereignty/history").json()
    versions = client.get(f"/v1/statements/{written['statement_id']}").json()["versions"]

    assert [s["actor"] for s in now] == ["kamilov"]
    assert [s["actor"] for s in known_then] == ["mirziyoyev"]
    assert [(c["from_stance"], c["to_stance"]) for c in history["changes"]] == [
        (None, "supports"),
        ("supports", None),
    ]
    assert [v["caused_by"] for v in versions] == ["StatementRecorded", "StatementCorrected"]
    assert versions[0]["known_until"] == versions[1]["known_from"]
    gone = client.get("/v1/stances/mirziyoyev/ukraine-sovereignty")
    assert_problem(gone, 404, "not-found")


def test_as_of_hides_what_was_said_later(client: TestClient, writer):
    client.post("/v1/statements", json=statement(), headers=writer)
    early = client.get("/v1/stances", params={"as_of": "2022-01-01"}).json()
    same_day = client.get("/v1/stances", params={"as_of": "2022-05-16"}).json()
    assert early["stances"] == []
    assert len(same_day["stances"]) == 1


def test_low_confidence_waits_for_review_until_approved(client: TestClient, writer):
    written = client.post("/v1/statements", json=statement(confidence=0.2), headers=writer).json()
    pending = client.get("/v1/statements", params={"status": "pending"}).json()["items"]
    assert [p["statement_id"] for p in pending] == [written["statement_id"]]
    assert client.get("/v1/stances").json()["stances"] == []

    approval = f"/v1/statements/{written['statement_id']}/approval"
    assert client.post(approval, json={"note": "checked"}, headers=writer).status_code == 201
    assert client.get("/v1/stances/mirziyoyev/ukraine-sovereignty").status_code == 200
    again = client.post(approval, json={}, headers=writer)
    assert_problem(again, 409, "not-awaiting-review")


def test_rejection_and_retraction(client: TestClient, writer):
    pending = client.post("/v1/statements", json=statement(confidence=0.1), headers=writer).json()
    rejected = client.post(
        f"/v1/statements/{pending['statement_id']}/rejection",
        json={"reason": "not what was said"},
        headers=writer,
    )
    accepted = client.post("/v1/statements", json=statement(), headers=writer).json()
    retracted = client.post(
        f"/v1/statements/{accepted['statement_id']}/retraction",
        json={"reason": "misattributed"},
        headers=writer,
    )
    assert rejected.status_code == retracted.status_code == 201
    assert client.get("/v1/stances").json()["stances"] == []
    twice = client.post(
        f"/v1/statements/{accepted['statement_id']}/retraction",
        json={"reason": "again"},
        headers=writer,
    )
    assert_problem(twice, 409, "statement-is-retracted")


def test_idempotency_key_replays_the_answer_and_refuses_another_body(client: TestClient, writer):
    headers = {**writer, "Idempotency-Key": "article-1"}
    first = client.post("/v1/statements", json=statement(), headers=headers)
    second = client.post("/v1/statements", json=statement(), headers=headers)
    other = client.post("/v1/statements", json=statement(stance="opposes"), headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json()["statement_id"] == first.json()["statement_id"]
    assert second.json()["position"] == first.json()["position"]
    assert second.json()["duplicate"] is True
    body = assert_problem(other, 409, "conflict")
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert len(client.get("/v1/statements").json()["items"]) == 1


def test_write_errors_are_problems(client: TestClient, writer, make_key: Callable[..., str]):
    reader = {"Authorization": f"Bearer {make_key('reader', can_write=False)}"}
    assert_problem(client.post("/v1/statements", json=statement()), 401, "unauthorized")
    assert_problem(
        client.post("/v1/statements", json=statement(), headers=reader), 403, "forbidden"
    )
    unknown = client.post("/v1/statements", json=statement(actor_id="nobody"), headers=writer)
    assert assert_problem(unknown, 422, "unknown-actor")["errors"][0]["field"] == "actor_id"
    bad_stance = client.post("/v1/statements", json=statement(stance="loves"), headers=writer)
    assert assert_problem(bad_stance, 422, "validation-error")["errors"][0]["field"].endswith(
        "stance"
    )
    bad_url = client.post(
        "/v1/statements", json=statement(source={**SOURCE, "url": "ftp://x"}), headers=writer
    )
    assert_problem(bad_url, 422, "validation-error")
    missing = client.post(
        f"/v1/statements/{uuid.uuid4()}/retraction", json={"reason": "x"}, headers=writer
    )
    assert_problem(missing, 404, "unknown-statement")
    duplicate_actor = client.post("/v1/actors", json=ACTOR, headers=writer)
    assert_problem(duplicate_actor, 409, "actor-already-registered")
    empty = client.post(
        f"/v1/statements/{uuid.uuid4()}/corrections", json={"reason": "x"}, headers=writer
    )
    assert_problem(empty, 400, "bad-request")


def test_read_errors_are_problems(client: TestClient, writer):
    bad_time = client.get("/v1/stances", params={"as_of": "yesterday"})
    assert assert_problem(bad_time, 422, "invalid-time")["errors"][0]["field"] == "as_of"
    for before_year_one in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        out_of_range = client.get("/v1/stances", params={"known_at": before_year_one})
        assert assert_problem(out_of_range, 422, "invalid-time")["errors"][0]["field"] == "known_at"
    assert_problem(client.get("/v1/stances", params={"cursor": "%%%"}), 400, "invalid-cursor")
    assert_problem(client.get(f"/v1/statements/{uuid.uuid4()}"), 404, "not-found")
    assert_problem(client.get("/v1/actors/nobody"), 404, "not-found")
    assert_problem(client.get("/v1/stances/nobody/ukraine-sovereignty/history"), 404, "not-found")
    assert_problem(client.get("/v1/stances/Not_A_Slug/x"), 422, "validation-error")


def test_matrix_filters_take_names_and_refuse_what_names_nothing(client: TestClient, writer):
    """``actor`` and ``topic`` take what a reader types (an id, a name, an alias, in any case),
    as the command line does. A name that means nothing is a 404 and one that means several a
    400: an empty matrix would read as "no stance"."""
    assert client.post("/v1/statements", json=statement(), headers=writer).status_code == 201
    by_id = client.get("/v1/stances", params={"actor": "mirziyoyev"}).json()["stances"]
    by_name = client.get(
        "/v1/stances", params={"actor": "SHAVKAT Mirziyoyev", "topic": "ukraine's sovereignty"}
    ).json()["stances"]
    assert len(by_id) == 1 and by_name == by_id

    unknown = client.get("/v1/stances", params={"actor": ["mirziyoyev", "nobody", "ghost"]})
    assert assert_problem(unknown, 404, "not-found")["detail"] == "no actors 'nobody', 'ghost'"
    no_topic = client.get("/v1/stances", params={"topic": "nope"})
    assert assert_problem(no_topic, 404, "not-found")["detail"] == "no topic 'nope'"
    shared_alias = client.get("/v1/stances", params={"actor": "mirziyoev"})  # both have it
    detail = assert_problem(shared_alias, 400, "ambiguous-actor")["detail"]
    assert detail == "actor 'mirziyoev' may mean kamilov, mirziyoyev: give one of their ids"


def test_one_stance_that_is_not_there_says_why(client: TestClient, writer):
    """No such actor, no such topic, or a known pair in silence: three different answers."""
    assert client.post("/v1/statements", json=statement(), headers=writer).status_code == 201
    for path, detail in (
        ("/v1/stances/nobody/ukraine-sovereignty", "no actor 'nobody'"),
        ("/v1/stances/mirziyoyev/nope", "no topic 'nope'"),
        (
            "/v1/stances/kamilov/ukraine-sovereignty",
            "'kamilov' has no stance on 'ukraine-sovereignty' at that time",
        ),
    ):
        assert assert_problem(client.get(path), 404, "not-found")["detail"] == detail


def test_lists_page_with_opaque_cursors(client: TestClient, writer):
    for day in range(1, 6):
        client.post("/v1/statements", json=statement(stated_at=f"2022-04-0{day}"), headers=writer)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/statements", params=params).json()
        seen.extend(item["stated_at"][:10] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    actors = client.get("/v1/actors", params={"limit": 1}).json()
    following = client.get("/v1/actors", params={"cursor": actors["next_cursor"]}).json()

    assert seen == [f"2022-04-0{day}" for day in range(1, 6)]
    assert [a["actor_id"] for a in actors["items"] + following["items"]] == [
        "kamilov",
        "mirziyoyev",
    ]
