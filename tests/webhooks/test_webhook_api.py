"""The webhook subscription routes over HTTP (TestClient), on SQLite and PostgreSQL."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from service.store.webhook_tables import deliveries_table
from tests.webhooks.harness import World

RECEIVER = "http://127.0.0.1:8999/hook"
ApiFactory = Callable[..., TestClient]


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"urn:stance:problem:{slug}"
    return body  # type: ignore[no-any-return]


def test_a_subscription_is_created_with_its_secret_shown_once(
    make_api: ApiFactory, writer: dict[str, str], world: World
) -> None:
    api = make_api()
    created = api.post(
        "/v1/webhooks",
        json={
            "url": RECEIVER,
            "description": "alerts",
            "actors": ["tokayev", "lukashenko", "tokayev"],
            "flips_only": True,
        },
        headers=writer,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["actors"] == ["lukashenko", "tokayev"] and body["topics"] is None
    assert body["enabled"] and body["flips_only"] and body["created_by"] == "key:hooks-admin"

    shown = api.get(f"/v1/webhooks/{body['id']}", headers=writer).json()
    assert "secret" not in shown
    assert shown == {key: value for key, value in body.items() if key != "secret"}


def test_listing_pages_and_leaves_out_deleted_ones(
    make_api: ApiFactory, writer: dict[str, str]
) -> None:
    api = make_api()
    ids = [
        api.post("/v1/webhooks", json={"url": RECEIVER}, headers=writer).json()["id"]
        for _ in range(3)
    ]
    assert api.delete(f"/v1/webhooks/{ids[1]}", headers=writer).status_code == 204
    first = api.get("/v1/webhooks", params={"limit": 1}, headers=writer).json()
    second = api.get(
        "/v1/webhooks", params={"limit": 1, "cursor": first["next_cursor"]}, headers=writer
    ).json()
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [ids[0], ids[2]]
    assert second["next_cursor"] is None
    assert_problem(
        api.get("/v1/webhooks", params={"cursor": "garbage"}, headers=writer), 400, "invalid-cursor"
    )


def test_writes_need_a_key_that_may_write(make_api: ApiFactory, reader: dict[str, str]) -> None:
    api = make_api()
    assert_problem(api.post("/v1/webhooks", json={"url": RECEIVER}), 401, "unauthorized")
    refused = api.post("/v1/webhooks", json={"url": RECEIVER}, headers=reader)
    assert_problem(refused, 403, "forbidden")


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/enable",
        "/disable",
        "/rotate-secret",
        "/deliveries/8f0e8e53-8a07-4c36-9b2a-3f0a29a3d7c1/retry",
    ],
)
def test_unknown_webhooks_are_404(make_api: ApiFactory, writer: dict[str, str], path: str) -> None:
    api = make_api()
    base = "/v1/webhooks/1b5cf1d6-3f64-4a4c-8d8e-0d6f3c7c7e55"
    method = api.get if path == "" else api.post
    assert_problem(method(base + path, headers=writer), 404, "not-found")
    if path == "":
        assert_problem(api.delete(base, headers=writer), 404, "not-found")
        assert_problem(api.get(base + "/deliveries", headers=writer), 404, "not-found")


def test_filters_naming_unknown_actors_or_topics_are_refused(
    make_api: ApiFactory, writer: dict[str, str], world: World
) -> None:
    api = make_api()
    answer = api.post(
        "/v1/webhooks", json={"url": RECEIVER, "actors": ["tokayev", "nobody"]}, headers=writer
    )
    body = assert_problem(answer, 422, "unknown-actor")
    assert body["errors"][0]["field"] == "actors[1]"
    answer = api.post("/v1/webhooks", json={"url": RECEIVER, "topics": ["tea"]}, headers=writer)
    assert assert_problem(answer, 422, "unknown-topic")["errors"][0]["field"] == "topics[0]"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://localhost:8080/hook",  # a name that resolves to loopback
        "ftp://example.org/hook",
        "http://user:pw@example.org/hook",
    ],
)
def test_the_guard_refuses_private_urls_unless_the_operator_allows_them(
    make_api: ApiFactory, writer: dict[str, str], url: str
) -> None:
    guarded = make_api(allow_private_urls=False)
    body = assert_problem(
        guarded.post("/v1/webhooks", json={"url": url}, headers=writer), 422, "unsafe-url"
    )
    assert body["errors"] == [
        {"location": "body", "field": "url", "message": body["errors"][0]["message"]}
    ]


def test_with_private_urls_allowed_the_local_receiver_is_accepted(
    make_api: ApiFactory, writer: dict[str, str]
) -> None:
    api = make_api(allow_private_urls=True)
    assert api.post("/v1/webhooks", json={"url": RECEIVER}, headers=writer).status_code == 201
    not_http = api.post("/v1/webhooks", json={"url": "file:///etc/passwd"}, headers=writer)
    assert_problem(not_http, 422, "unsafe-url")


def test_disable_enable_and_rotate(make_api: ApiFactory, writer: dict[str, str]) -> None:
    api = make_api()
    created = api.post("/v1/webhooks", json={"url": RECEIVER}, headers=writer).json()
    base = f"/v1/webhooks/{created['id']}"

    disabled = api.post(f"{base}/disable", headers=writer).json()
    assert not disabled["enabled"] and disabled["disabled_reason"] == "disabled by request"
    enabled = api.post(f"{base}/enable", headers=writer).json()
    assert enabled["enabled"] and enabled["disabled_reason"] is None

    rotated = api.post(f"{base}/rotate-secret", headers=writer).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    expected = datetime.now(UTC) + timedelta(hours=24)
    assert abs((expires - expected).total_seconds()) < 60
    assert (
        api.get(base, headers=writer).json()["previous_secret_expires_at"]
        == rotated["previous_secret_expires_at"]
    )


def test_deleting_cancels_what_was_pending_and_keeps_the_log(
    make_api: ApiFactory, writer: dict[str, str], world: World
) -> None:
    api = make_api()
    created = api.post("/v1/webhooks", json={"url": RECEIVER}, headers=writer).json()
    world.say("tokayev", "war-justified", "supports")
    [pending] = world.deliveries()
    assert pending.status == "pending"

    assert api.delete(f"/v1/webhooks/{created['id']}", headers=writer).status_code == 204
    assert_problem(api.get(f"/v1/webhooks/{created['id']}", headers=writer), 404, "not-found")
    [kept] = world.deliveries()
    assert kept.id == pending.id and kept.status == "cancelled"
    world.say("tokayev", "war-justified", "opposes")
    assert len(world.deliveries()) == 1


def test_the_delivery_log_and_a_manual_retry(
    make_api: ApiFactory, writer: dict[str, str], world: World
) -> None:
    api = make_api()
    created = api.post("/v1/webhooks", json={"url": RECEIVER}, headers=writer).json()
    base = f"/v1/webhooks/{created['id']}"
    world.say("tokayev", "war-justified", "supports")
    world.say("tokayev", "war-justified", "opposes")
    first, second = world.deliveries()
    with world.database.write() as session:
        session.connection().execute(
            update(deliveries_table)
            .where(deliveries_table.c.id == first.id)
            .values(status="failed", next_attempt_at=None, attempts=8)
        )

    log = api.get(f"{base}/deliveries", headers=writer).json()
    assert [d["id"] for d in log["items"]] == [str(second.id), str(first.id)]  # newest first
    assert all(d["message_id"] == "msg_" + d["id"].replace("-", "") for d in log["items"])
    page = api.get(f"{base}/deliveries", params={"limit": 1}, headers=writer).json()
    rest = api.get(
        f"{base}/deliveries", params={"limit": 1, "cursor": page["next_cursor"]}, headers=writer
    )
    assert [d["id"] for d in page["items"] + rest.json()["items"]] == [
        str(second.id),
        str(first.id),
    ]
    failed = api.get(f"{base}/deliveries", params={"status": "failed"}, headers=writer).json()[
        "items"
    ]
    assert [d["id"] for d in failed] == [str(first.id)]
    one = api.get(f"{base}/deliveries/{first.id}", headers=writer).json()
    assert one["payload"]["type"] == "stance.changed" and one["attempt_log"] == []

    retried = api.post(f"{base}/deliveries/{first.id}/retry", headers=writer)
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 8
    assert world.deliveries()[0].next_attempt_at <= datetime.now(UTC)

    api.post(f"{base}/disable", headers=writer)
    assert_problem(api.post(f"{base}/deliveries/{first.id}/retry", headers=writer), 409, "conflict")


def test_subscriptions_and_their_logs_are_not_public(
    make_api: ApiFactory, writer: dict[str, str], reader: dict[str, str]
) -> None:
    """Subscriber URLs often carry tokens and delivery logs hold receivers' replies: reading
    them needs a key that may write, even where stance reads are public."""
    api = make_api()
    created = api.post("/v1/webhooks", json={"url": RECEIVER}, headers=writer).json()
    base = f"/v1/webhooks/{created['id']}"
    for path in ("/v1/webhooks", base, f"{base}/deliveries"):
        assert_problem(api.get(path), 401, "unauthorized")
        assert_problem(api.get(path, headers=reader), 403, "forbidden")
        assert api.get(path, headers=writer).status_code == 200
