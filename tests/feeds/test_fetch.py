"""fetch() against real HTTP servers on 127.0.0.1: validators, status handling, caps, deadlines."""

import gzip
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from service.feeds.fetch import DEFAULT_RETRY_AFTER, FetchStatus, fetch
from tests.feeds.conftest import USER_AGENT, drip, hang

pytestmark = pytest.mark.anyio
RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


async def _get(client: httpx.AsyncClient, url: str, **options: object):
    return await fetch(client, url, user_agent=USER_AGENT, **options)  # type: ignore[arg-type]


async def test_ok_returns_body_validators_and_sends_user_agent(httpserver: HTTPServer, client):
    httpserver.expect_request("/feed", headers={"User-Agent": USER_AGENT}).respond_with_data(
        RSS,
        content_type="application/rss+xml",
        headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 Jun 2022 09:00:00 GMT"},
    )
    result = await _get(client, httpserver.url_for("/feed"))
    assert result.status is FetchStatus.OK
    assert result.body == RSS
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 Jun 2022 09:00:00 GMT"
    assert result.content_type == "application/rss+xml"


async def test_second_fetch_with_validators_gets_304(httpserver: HTTPServer, client):
    def conditional(request: Request) -> Response:
        unchanged = (
            request.headers.get("If-None-Match") == '"v1"'
            and request.headers.get("If-Modified-Since") == "Wed, 01 Jun 2022 09:00:00 GMT"
        )
        if unchanged:
            return Response(status=304, headers={"Cache-Control": "max-age=600"})
        headers = {"ETag": '"v1"', "Last-Modified": "Wed, 01 Jun 2022 09:00:00 GMT"}
        return Response(RSS, headers=headers)

    httpserver.expect_request("/feed").respond_with_handler(conditional)
    url = httpserver.url_for("/feed")
    first = await _get(client, url)
    second = await _get(client, url, etag=first.etag, last_modified=first.last_modified)
    assert first.status is FetchStatus.OK
    assert second.status is FetchStatus.NOT_MODIFIED
    assert second.body == b""
    assert second.etag == '"v1"'  # kept although the 304 did not repeat it
    assert second.ttl == timedelta(seconds=600)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        ("soon, probably", DEFAULT_RETRY_AFTER),
        (None, DEFAULT_RETRY_AFTER),
    ],
)
async def test_429_reports_retry_after_seconds_or_safe_default(
    httpserver: HTTPServer, client, header, expected
):
    headers = {"Retry-After": header} if header else {}
    httpserver.expect_request("/feed").respond_with_data("slow down", 429, headers=headers)
    result = await _get(client, httpserver.url_for("/feed"))
    assert result.status is FetchStatus.RETRY_LATER
    assert result.retry_after == expected


async def test_503_retry_after_http_date(httpserver: HTTPServer, client):
    now = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(minutes=30), usegmt=True)
    httpserver.expect_request("/feed").respond_with_data("", 503, headers={"Retry-After": later})
    result = await _get(client, httpserver.url_for("/feed"), clock=lambda: now)
    assert result.status is FetchStatus.RETRY_LATER
    assert result.retry_after == timedelta(minutes=30)


async def test_500_is_an_error_and_410_is_gone(httpserver: HTTPServer, client):
    httpserver.expect_request("/broken").respond_with_data("oops", 500)
    httpserver.expect_request("/gone").respond_with_data("", 410)
    broken = await _get(client, httpserver.url_for("/broken"))
    gone = await _get(client, httpserver.url_for("/gone"))
    assert (broken.status, broken.http_status, broken.error) == (FetchStatus.ERROR, 500, "HTTP 500")
    assert gone.status is FetchStatus.GONE


def _twenty_megabytes() -> Iterator[bytes]:
    for _ in range(20 * 16):
        yield b"x" * 65536


async def test_20_mb_body_is_cut_off_at_the_limit(httpserver: HTTPServer, client):
    httpserver.expect_request("/big").respond_with_response(Response(_twenty_megabytes()))
    started = time.monotonic()
    result = await _get(client, httpserver.url_for("/big"), max_bytes=1_000_000)
    assert result.status is FetchStatus.ERROR
    assert "larger than 1000000 bytes" in (result.error or "")
    assert result.body == b""
    assert result.received_bytes <= 1_000_001
    assert time.monotonic() - started < 5


async def test_declared_oversize_is_refused_before_reading(httpserver: HTTPServer, client):
    httpserver.expect_request("/big").respond_with_data(b"x" * 2_000_000)
    result = await _get(client, httpserver.url_for("/big"), max_bytes=1_000_000)
    assert result.status is FetchStatus.ERROR
    assert result.received_bytes == 0


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compression_bomb_is_refused_without_inflating_it(
    httpserver: HTTPServer, client, encoding
):
    bomb = b"\0" * (200 * 1024 * 1024)  # 200 MB of zeros: about 200 KB compressed
    packed = gzip.compress(bomb, 9) if encoding == "gzip" else zlib.compress(bomb, 9)
    del bomb
    assert len(packed) < 1_000_000  # small enough to pass the transfer cap
    httpserver.expect_request("/bomb").respond_with_data(
        packed, headers={"Content-Encoding": encoding}
    )
    result = await _get(client, httpserver.url_for("/bomb"), max_bytes=1_000_000)
    assert result.status is FetchStatus.ERROR
    assert "larger than 1000000 bytes" in (result.error or "")
    assert result.received_bytes <= 1_000_001


async def test_compressed_body_within_the_cap_is_decoded(httpserver: HTTPServer, client):
    httpserver.expect_request("/feed").respond_with_data(
        gzip.compress(RSS), headers={"Content-Encoding": "gzip"}
    )
    result = await _get(client, httpserver.url_for("/feed"))
    assert (result.status, result.body) == (FetchStatus.OK, RSS)


async def test_unsupported_encoding_is_an_error(httpserver: HTTPServer, client):
    httpserver.expect_request("/feed").respond_with_data(b"xx", headers={"Content-Encoding": "br"})
    result = await _get(client, httpserver.url_for("/feed"))
    assert result.status is FetchStatus.ERROR
    assert "Content-Encoding" in (result.error or "")


async def test_hanging_server_times_out(raw_server, client):
    url = raw_server(hang)
    started = time.monotonic()
    result = await _get(client, url, timeout=0.5)
    assert result.status is FetchStatus.ERROR
    assert "timed out" in (result.error or "")
    assert time.monotonic() - started < 3


async def test_dripping_body_hits_the_total_deadline(raw_server, client):
    url = raw_server(drip)
    started = time.monotonic()
    result = await _get(client, url, timeout=0.8)
    assert result.status is FetchStatus.ERROR
    assert "timed out" in (result.error or "")
    assert time.monotonic() - started < 3


async def test_redirects_are_followed_up_to_the_bound(httpserver: HTTPServer, client):
    for hop in range(4):
        target = httpserver.url_for(f"/hop{hop + 1}")
        httpserver.expect_request(f"/hop{hop}").respond_with_data(
            "", 301, headers={"Location": target}
        )
    httpserver.expect_request("/hop4").respond_with_data(RSS)
    within = await _get(client, httpserver.url_for("/hop0"), max_redirects=4)
    beyond = await _get(client, httpserver.url_for("/hop0"), max_redirects=3)
    assert within.status is FetchStatus.OK
    assert within.permanent_redirect == httpserver.url_for("/hop4")
    assert beyond.status is FetchStatus.ERROR
    assert "more than 3 redirects" in (beyond.error or "")


async def test_temporary_redirect_is_not_reported_as_a_move(httpserver: HTTPServer, client):
    httpserver.expect_request("/old").respond_with_data("", 302, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data(RSS)
    result = await _get(client, httpserver.url_for("/old"))
    assert result.status is FetchStatus.OK
    assert result.url == httpserver.url_for("/new")
    assert result.permanent_redirect is None


async def test_redirect_to_a_file_url_is_refused(httpserver: HTTPServer, client):
    httpserver.expect_request("/feed").respond_with_data(
        "", 302, headers={"Location": "file:///etc/passwd"}
    )
    result = await _get(client, httpserver.url_for("/feed"))
    assert result.status is FetchStatus.ERROR
    assert result.body == b""


async def test_connection_refused_is_an_error_not_an_exception(client):
    result = await _get(client, "http://127.0.0.1:9/feed", timeout=2)
    assert result.status is FetchStatus.ERROR
    assert result.error
