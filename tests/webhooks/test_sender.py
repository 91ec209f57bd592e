"""The sender against real receivers on 127.0.0.1: every outcome becomes an AttemptResult."""

import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from service.net.transport import build_client
from service.webhooks.attempt import AttemptResult, FailureKind
from service.webhooks.policy import Outcome, classify
from service.webhooks.sender import RESPONSE_EXCERPT_BYTES, send
from service.webhooks.signing import generate_secret

pytestmark = pytest.mark.anyio

BODY = b'{"type":"stance.changed","timestamp":"2024-06-02T12:00:06Z","data":{"position":1}}'
SECRET = generate_secret()


@pytest.fixture(params=[True, False], ids=["http1", "httpcore"])
def lean(request: pytest.FixtureRequest) -> bool:
    """Which transport the client runs on: the delivery client's lean one, or httpcore."""
    return bool(request.param)


@pytest.fixture
async def client(lean: bool) -> AsyncIterator[httpx.AsyncClient]:
    """The service's client with private addresses allowed, as the tests' setting has it.

    It follows redirects for other callers; the sender must still never follow them.
    """
    async with build_client(
        allow_private=True,
        user_agent="stance-tests",
        timeout=httpx.Timeout(10.0),
        follow_redirects=True,
        max_redirects=5,
        lean=lean,
    ) as shared:
        yield shared


async def deliver(client: httpx.AsyncClient, url: str, **overrides: object) -> AttemptResult:
    arguments: dict[str, object] = {
        "url": url,
        "secrets": [SECRET],
        "msg_id": "msg_0123456789abcdef",
        "timestamp": int(time.time()),
        "body": BODY,
    } | overrides
    return await send(client, **arguments)  # type: ignore[arg-type]


async def test_a_2xx_delivery_is_signed_as_standard_webhooks_receivers_expect(
    receiver: HTTPServer, client: httpx.AsyncClient
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    def handler(request: Request) -> Response:
        received.append((dict(request.headers), request.get_data()))
        return Response("thanks", status=200)

    receiver.expect_request("/hook", method="POST").respond_with_handler(handler)
    old, new = generate_secret(), generate_secret()
    result = await deliver(client, receiver.url_for("/hook"), secrets=[old, new])

    assert result.status_code == 200 and result.error is None and result.failure is None
    assert result.response_body_excerpt == "thanks"
    assert result.duration_ms >= 0
    assert classify(result) is Outcome.SUCCESS
    headers, body = received[0]
    assert body == BODY
    assert headers["Content-Type"] == "application/json"
    assert headers["Webhook-Id"] == "msg_0123456789abcdef"
    assert headers["User-Agent"].startswith("StanceTracker-Webhooks/")
    assert len(headers["Webhook-Signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["data"] == {"position": 1}


async def test_every_retry_carries_the_same_id_and_a_fresh_valid_signature(
    receiver: HTTPServer, client: httpx.AsyncClient
) -> None:
    seen: list[dict[str, str]] = []

    def unavailable(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response("", status=503)

    receiver.expect_request("/hook").respond_with_handler(unavailable)
    now = int(time.time())
    for timestamp in (now - 10, now):
        result = await deliver(client, receiver.url_for("/hook"), timestamp=timestamp)
        assert classify(result) is Outcome.RETRY
    assert {headers["Webhook-Id"] for headers in seen} == {"msg_0123456789abcdef"}
    assert [headers["Webhook-Timestamp"] for headers in seen] == [str(now - 10), str(now)]
    for headers in seen:
        Webhook(SECRET).verify(BODY, headers)


async def test_a_500_is_reported_with_its_body(
    receiver: HTTPServer, client: httpx.AsyncClient
) -> None:
    receiver.expect_request("/hook").respond_with_data("database down", status=500)
    result = await deliver(client, receiver.url_for("/hook"))
    assert (result.status_code, result.response_body_excerpt) == (500, "database down")
    assert classify(result) is Outcome.RETRY


async def test_429_with_retry_after_in_seconds(
    receiver: HTTPServer, client: httpx.AsyncClient
) -> None:
    receiver.expect_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}
    )
    result = await deliver(client, receiver.url_for("/hook"))
    assert result.status_code == 429 and result.retry_after == 120


async def test_429_with_retry_after_as_an_http_date(
    receiver: HTTPServer, client: httpx.AsyncClient
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=600), usegmt=True)
    receiver.expect_request("/hook").respond_with_data(
        "", status=429, headers={"Retry-After": later}
    )
    result = await deliver(client, receiver.url_for("/hook"))
    assert result.retry_after is not None and 595 <= result.retry_after <= 600


async def test_410_is_reported_as_gone(receiver: HTTPServer, client: httpx.AsyncClient) -> None:
    receiver.expect_request("/hook").respond_with_data("unsubscribed", status=410)
    result = await deliver(client, receiver.url_for("/hook"))
    assert classify(result) is Outcome.GONE


async def test_a_slow_receiver_times_out(receiver: HTTPServer, client: httpx.AsyncClient) -> None:
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(5)
        return Response("too late")

    receiver.expect_request("/hook").respond_with_handler(slow)
    try:
        result = await deliver(client, receiver.url_for("/hook"), timeout=0.5)
    finally:
        release.set()
    assert result.status_code is None and result.failure is FailureKind.TIMEOUT
    assert 400 <= result.duration_ms < 3000
    assert classify(result) is Outcome.RETRY


async def test_a_refused_connection_is_a_connect_failure(
    client: httpx.AsyncClient, closed_port: int
) -> None:
    result = await deliver(client, f"http://127.0.0.1:{closed_port}/hook")
    assert result.status_code is None and result.failure is FailureKind.CONNECT
    assert result.error


async def test_a_huge_body_is_cut_at_the_cap_without_being_read(
    receiver: HTTPServer, client: httpx.AsyncClient
) -> None:
    chunk = b"x" * 65536
    total = 200 * 1024 * 1024
    sent = {"bytes": 0, "finished": False}

    def endless() -> Iterator[bytes]:
        while sent["bytes"] < total:
            sent["bytes"] += len(chunk)
            yield chunk
        sent["finished"] = True

    receiver.expect_request("/hook").respond_with_handler(
        lambda request: Response(endless(), status=200, content_type="text/plain")
    )
    started = time.perf_counter()
    result = await deliver(client, receiver.url_for("/hook"))
    assert time.perf_counter() - started < 5
    assert result.status_code == 200
    assert len(result.response_body_excerpt.encode()) == RESPONSE_EXCERPT_BYTES
    assert not sent["finished"]
    assert sent["bytes"] < total // 4


async def test_a_multibyte_character_cut_at_the_cap_is_dropped(
    receiver: HTTPServer, client: httpx.AsyncClient
) -> None:
    receiver.expect_request("/hook").respond_with_data("é" * 20000, status=200)
    result = await deliver(client, receiver.url_for("/hook"), excerpt_limit=11)
    assert result.response_body_excerpt == "ééééé"


async def test_a_redirect_is_not_followed(receiver: HTTPServer, client: httpx.AsyncClient) -> None:
    receiver.expect_request("/hook").respond_with_response(
        Response("", status=307, headers={"Location": receiver.url_for("/elsewhere")})
    )
    receiver.expect_request("/elsewhere").respond_with_data("should not be reached")
    result = await deliver(client, receiver.url_for("/hook"))
    assert result.status_code == 307
    assert classify(result) is Outcome.RETRY
    assert [request.path for request, _ in receiver.log] == ["/hook"]


async def test_a_guarded_client_refuses_private_receivers(receiver: HTTPServer, lean: bool) -> None:
    receiver.expect_request("/hook").respond_with_data("reached")
    async with build_client(
        allow_private=False,
        user_agent="stance-tests",
        timeout=httpx.Timeout(5.0),
        follow_redirects=False,
        max_redirects=0,
        lean=lean,
    ) as guarded:
        result = await deliver(guarded, receiver.url_for("/hook"))
    assert result.failure is FailureKind.BLOCKED and "not a public address" in (result.error or "")
    assert receiver.log == []
    assert classify(result) is Outcome.RETRY


async def test_an_unusable_url_is_reported_not_raised(client: httpx.AsyncClient) -> None:
    result = await deliver(client, "ftp://example.com/hook")
    assert result.failure is FailureKind.INVALID_URL
    assert classify(result) is Outcome.PERMANENT_FAILURE
