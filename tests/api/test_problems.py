"""Every error is an RFC 9457 problem: malformed JSON, validation, routing, domain, store, crash."""

import logging

import pytest
from fastapi.testclient import TestClient

from service.api.pagination import encode_cursor
from tests.api.conftest import assert_problem

VALID_THING = {"name": "x", "source": {"url": "https://example.org/a"}}


@pytest.fixture
def writer(client: TestClient, make_key) -> TestClient:
    client.headers["Authorization"] = f"Bearer {make_key('writer')}"
    return client


def test_malformed_json_is_a_400_naming_the_body(writer: TestClient):
    response = writer.post(
        "/_probe/things", content=b'{"name": "x",', headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 400, "malformed-json")
    assert body["errors"][0]["location"] == "body"
    assert "JSON" in body["errors"][0]["message"]


def test_validation_errors_name_each_field(writer: TestClient):
    response = writer.post(
        "/_probe/things",
        json={"name": "", "source": {"url": "not a url"}, "aliases": ["ok", 7]},
    )
    body = assert_problem(response, 422, "validation-error")
    fields = {(e["location"], e["field"]) for e in body["errors"]}
    assert fields == {("body", "name"), ("body", "source.url"), ("body", "aliases[1]")}
    assert all(e["message"] for e in body["errors"])


def test_missing_body_and_bad_query_parameters_are_named(writer: TestClient):
    body = assert_problem(writer.post("/_probe/things"), 422, "validation-error")
    assert body["errors"][0]["location"] == "body"
    body = assert_problem(writer.get("/v1/events?limit=5000&after=-1"), 422, "validation-error")
    assert {(e["location"], e["field"]) for e in body["errors"]} == {
        ("query", "limit"),
        ("query", "after"),
    }


def test_unknown_route_is_a_404_problem(client: TestClient):
    body = assert_problem(client.get("/no/such/thing"), 404, "not-found")
    assert "errors" not in body


def test_wrong_method_is_a_405_problem_with_allow(client: TestClient):
    response = client.delete("/v1/events")
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]


def test_bad_cursor_is_a_400_naming_the_cursor(client: TestClient):
    for cursor in ["@@@", "AAAA", encode_cursor("other-listing", {"p": 1})]:
        body = assert_problem(
            client.get("/_probe/cursor", params={"cursor": cursor}), 400, "invalid-cursor"
        )
        assert body["errors"] == [
            {"location": "query", "field": "cursor", "message": body["errors"][0]["message"]}
        ]
    assert client.get(
        "/_probe/cursor", params={"cursor": encode_cursor("probe", {"p": 3})}
    ).json() == {"p": 3}


@pytest.mark.parametrize(
    ("method", "kind", "status", "slug", "field"),
    [
        ("POST", "unknown-actor", 422, "unknown-actor", "actor_id"),
        ("GET", "unknown-actor", 404, "unknown-actor", "actor_id"),
        ("POST", "already", 409, "actor-already-registered", "actor_id"),
        ("POST", "retracted", 409, "statement-is-retracted", None),
        ("POST", "quote", 422, "invalid-quote", "quote"),
        ("POST", "concurrency", 409, "concurrency-conflict", None),
    ],
)
def test_domain_and_store_errors_map_to_problems(client, method, kind, status, slug, field):
    body = assert_problem(client.request(method, f"/_probe/fail/{kind}"), status, slug)
    if field is None:
        assert "errors" not in body
    else:
        assert body["errors"][0]["field"] == field


def test_unknown_reference_in_the_path_is_a_404(client: TestClient):
    body = assert_problem(client.post("/_probe/statements/abc/approval"), 404, "unknown-statement")
    assert body["errors"] == [
        {"location": "path", "field": "statement_id", "message": "no statement abc"}
    ]


def test_unexpected_errors_are_a_500_that_leaks_nothing_and_is_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.ERROR, logger="service.api.errors"):
        response = client.get("/_probe/fail/crash")
    body = assert_problem(response, 500, "internal-error")
    assert "postgres" not in response.text and "RuntimeError" not in response.text
    reference = body["detail"].rsplit(" ", 1)[-1]
    assert any(reference in record.getMessage() for record in caplog.records)


def test_a_value_the_database_cannot_store_is_a_422_not_a_500(client, test_db):
    response = client.get("/_probe/echo", params={"value": "a\x00b"})
    if test_db.backend == "sqlite":
        assert response.status_code == 200  # SQLite stores NUL characters
    else:
        body = assert_problem(response, 422, "unstorable-value")
        assert "psycopg" not in response.text and "SELECT" not in body["detail"]
