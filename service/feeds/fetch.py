"""One polite, bounded HTTP GET of a feed.

Polite: conditional GET with the validators of the last poll (an unchanged feed costs a 304), a
User-Agent that says who we are, Retry-After read on 429/503. Bounded: one deadline for the whole
exchange (a server that drips a byte a second cannot hold a worker forever), a cap on the body
counted both as transferred and as decoded (a gzip bomb is refused without being inflated), and a
bounded number of redirects, each of which goes back through the injected client so that its
transport (the private-address guard) checks every hop.

The function never raises for anything the network or the server does: every outcome is a
``FetchResult`` the poller can store and schedule from.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx

from service.feeds.cache_hints import parse_cache_ttl, parse_retry_after
from service.feeds.decoding import UnsupportedEncoding, decoder_for
from service.feeds.status import FetchStatus

__all__ = ["FetchResult", "FetchStatus", "fetch"]

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
# When a 429/503 carries no readable Retry-After, waiting this long is polite without being lost.
DEFAULT_RETRY_AFTER = timedelta(minutes=15)
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
_REDIRECTS = {301, 302, 303, 307, 308}
_PERMANENT = {301, 308}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchResult:
    """What one poll got: the status that drives scheduling, and what the poller must store.

    ``etag``/``last_modified`` are the validators to send next time (the old ones when a 304 did
    not repeat them). ``ttl`` is the server's freshness hint, ``retry_after`` its requested delay.
    ``permanent_redirect`` is set when every hop was a 301/308, so the poller may move the feed.
    """

    status: FetchStatus
    url: str
    http_status: int | None = None
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    ttl: timedelta | None = None
    retry_after: timedelta | None = None
    permanent_redirect: str | None = None
    error: str | None = None
    received_bytes: int = 0


class _TooLarge(Exception):
    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    user_agent: str,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FetchResult:
    """GET ``url`` through ``client`` within ``timeout`` seconds in total; never raises."""
    headers = {"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with asyncio.timeout(timeout):
            return await _follow(
                client,
                url,
                headers=headers,
                validators=(etag, last_modified),
                max_bytes=max_bytes,
                timeout=timeout,
                max_redirects=max_redirects,
                clock=clock,
            )
    except TimeoutError:
        return _error(url, f"timed out after {timeout:g} s")
    except httpx.TimeoutException as exc:
        return _error(url, f"timed out ({type(exc).__name__})")
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        return _error(url, f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        # The injected transport (the address guard) may raise its own errors; one feed's
        # failure must never take the poll cycle down with it.
        logger.warning("fetch of %s failed unexpectedly", url, exc_info=True)
        return _error(url, f"{type(exc).__name__}: {exc}")


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str],
    validators: tuple[str | None, str | None],
    max_bytes: int,
    timeout: float,
    max_redirects: int,
    clock: Callable[[], datetime],
) -> FetchResult:
    current, permanent = url, True
    for hop in range(max_redirects + 1):
        request = client.build_request("GET", current, headers=headers, timeout=timeout)
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                if hop == max_redirects:
                    return _error(current, f"more than {max_redirects} redirects", response)
                target = response.url.join(location)
                if target.scheme not in ("http", "https"):
                    return _error(current, f"redirect to a {target.scheme!r} URL refused", response)
                permanent = permanent and response.status_code in _PERMANENT
                current = str(target)
                continue
            result = await _answer(
                response, validators=validators, max_bytes=max_bytes, now=clock()
            )
        finally:
            await response.aclose()
        if permanent and current != url:
            return _with_redirect(result, current)
        return result
    raise AssertionError("unreachable: the loop returns on its last hop")


async def _answer(
    response: httpx.Response,
    *,
    validators: tuple[str | None, str | None],
    max_bytes: int,
    now: datetime,
) -> FetchResult:
    code, url = response.status_code, str(response.url)
    common = {
        "url": url,
        "http_status": code,
        "etag": response.headers.get("etag") or validators[0],
        "last_modified": response.headers.get("last-modified") or validators[1],
        "ttl": parse_cache_ttl(response.headers, now=now),
    }
    if code == 304:
        return FetchResult(status=FetchStatus.NOT_MODIFIED, **common)
    if code == 410:
        return FetchResult(status=FetchStatus.GONE, error="410 Gone", **common)
    if code in (429, 503):
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=now)
        return FetchResult(
            status=FetchStatus.RETRY_LATER,
            retry_after=retry_after if retry_after is not None else DEFAULT_RETRY_AFTER,
            error=f"HTTP {code}",
            **common,
        )
    if not 200 <= code < 300:
        return _error(url, f"HTTP {code}", response)
    try:
        body = await _read_capped(response, max_bytes)
    except _TooLarge as exc:
        return _error(
            url, f"body larger than {max_bytes} bytes; stopped reading", response, exc.received
        )
    except UnsupportedEncoding as exc:
        return _error(url, str(exc), response)
    return FetchResult(
        status=FetchStatus.OK,
        body=body,
        content_type=response.headers.get("content-type"),
        received_bytes=len(body),
        **common,
    )


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body; refused as soon as the transfer or the decoded size passes the cap."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _TooLarge(0)
    decoder = decoder_for(response.headers.get("content-encoding"))
    body = bytearray()
    async for raw in response.aiter_raw():
        if response.num_bytes_downloaded > max_bytes:
            raise _TooLarge(len(body))
        body += decoder.decode(raw, max_bytes - len(body) + 1)
        if len(body) > max_bytes:
            raise _TooLarge(len(body))
    if not decoder.finished():
        raise httpx.DecodingError("compressed body ended before its end marker")
    return bytes(body)


def _error(
    url: str, message: str, response: httpx.Response | None = None, received: int = 0
) -> FetchResult:
    return FetchResult(
        status=FetchStatus.ERROR,
        url=url,
        http_status=response.status_code if response is not None else None,
        error=message,
        received_bytes=received,
    )


def _with_redirect(result: FetchResult, target: str) -> FetchResult:
    return replace(result, permanent_redirect=target)
