"""Recent events, feeds and webhooks pages: read-only, no secrets, and the webhook pages under
the API's rule for subscriptions and delivery logs (a key that can write)."""

import asyncio
import base64
from collections.abc import Callable

from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer

from service.config import Settings
from service.demo.loader import DemoLoadReport, load_demo
from service.webhooks.worker import DeliveryWorker, build_delivery_client
from tests.web.conftest import statement


def _basic(key: str, user: str = "analyst") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_recent_events_lists_the_latest_events_newest_first(
    client: TestClient, demo: DemoLoadReport, writer: dict[str, str]
) -> None:
    posted = client.post("/v1/statements", json=statement(), headers=writer)
    assert posted.status_code == 201
    position = posted.json()["position"]
    page = client.get("/events")
    assert page.status_code == 200
    text = page.text
    assert f'data-after="{position}"' in text  # the live stream continues from here
    assert f'<tr data-position="{position}">' in text
    assert text.index(f'data-position="{position}"') < text.index(f'data-position="{position - 1}"')
    assert "Tajikistan calls for a peaceful settlement." in text
    assert 'href="/actors/rahmon/war-justified"' in text
    assert "key:newsroom" in text
    assert 'data-types="ActorRegistered ActorUpdated' in text
    assert text.count("<tr data-position=") == min(position, 50)


def test_feeds_show_state_and_next_poll_without_query_values(
    make_client: Callable[..., TestClient], make_key: Callable[..., str]
) -> None:
    client = make_client(allow_private_urls=True)
    headers = {"Authorization": f"Bearer {make_key('ops')}"}
    added = client.post(
        "/v1/feeds",
        json={"url": "http://127.0.0.1:9/rss.xml?token=hunter2", "kind": "news", "name": "Wire"},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    page = client.get("/feeds")
    assert page.status_code == 200
    assert "Wire" in page.text and "http://127.0.0.1:9/rss.xml?…" in page.text
    assert "hunter2" not in page.text
    assert "Polling" in page.text and "never" in page.text  # not polled yet
    assert "(due)" in page.text


def test_webhook_pages_need_a_key_that_can_write(
    make_client: Callable[..., TestClient], make_key: Callable[..., str]
) -> None:
    client = make_client(allow_private_urls=True, api_key_cache_seconds=0)
    writing, reading = make_key("ops"), make_key("analyst", can_write=False)
    created = client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook?token=hunter2", "description": "newsroom alerts"},
        headers={"Authorization": f"Bearer {writing}"},
    )
    assert created.status_code == 201, created.text
    secret, webhook_id = created.json()["secret"], created.json()["id"]

    anonymous = client.get("/webhooks")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith('Basic realm="Stance Tracker"')
    assert "needs an API key that can write" in anonymous.text
    assert client.get("/webhooks", headers=_basic(reading)).status_code == 403
    assert client.get("/webhooks", headers=_basic("stk_not-a-key")).status_code == 401
    assert client.get(f"/webhooks/{webhook_id}").status_code == 401

    for headers in (_basic(writing), {"Authorization": f"Bearer {writing}"}):
        page = client.get("/webhooks", headers=headers)
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert "newsroom alerts" in page.text and "http://127.0.0.1:9/hook?…" in page.text
        assert secret not in page.text and "whsec_" not in page.text
        assert "hunter2" not in page.text
    one = client.get(f"/webhooks/{webhook_id}", headers=_basic(writing))
    assert one.status_code == 200
    assert "Nothing was sent to this endpoint yet." in one.text
    assert secret not in one.text
    assert client.get("/webhooks/not-a-uuid", headers=_basic(writing)).status_code == 404
    unknown = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/webhooks/{unknown}", headers=_basic(writing)).status_code == 404


def test_the_delivery_log_shows_failed_attempts(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
    make_key: Callable[..., str],
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook").respond_with_data("<b>down</b>", status=500)
    client = make_client(allow_private_urls=True)
    writing = make_key("ops")
    created = client.post(
        "/v1/webhooks",
        json={"url": httpserver.url_for("/hook")},
        headers={"Authorization": f"Bearer {writing}"},
    )
    assert created.status_code == 201, created.text
    load_demo(client.app.state.runtime.services.bus)  # type: ignore[attr-defined]

    async def deliver_once() -> int:
        settings = make_settings(allow_private_urls=True)
        async with build_delivery_client(settings) as http:
            runtime = client.app.state.runtime  # type: ignore[attr-defined]
            return await DeliveryWorker(runtime.database, http, settings).run_once()

    assert asyncio.run(deliver_once()) > 0
    page = client.get(f"/webhooks/{created.json()['id']}", headers=_basic(writing))
    assert page.status_code == 200
    assert "stance.changed" in page.text
    assert "last answer HTTP 500" in page.text
    assert "<b>down</b>" not in page.text and "&lt;b&gt;down&lt;/b&gt;" in page.text
    assert 'href="/actors/putin/war-justified"' in page.text


def test_with_private_reads_every_page_needs_a_key(
    make_client: Callable[..., TestClient], make_key: Callable[..., str]
) -> None:
    client = make_client(public_reads=False)
    reading = make_key("analyst", can_write=False)
    for path in ("/", "/events", "/feeds", "/actors/putin"):
        refused = client.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"].startswith("Basic ")
    assert client.get("/", headers=_basic(reading)).status_code == 200
    assert client.get("/feeds", headers={"Authorization": f"Bearer {reading}"}).status_code == 200
