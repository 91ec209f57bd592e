"""One signed POST to a subscriber, reported as an ``AttemptResult`` and never as an exception.

Subscribers are untrusted servers: the attempt has a hard deadline, redirects are not followed, and
the response body is read as a stream and cut at a small cap, so a slow or hostile receiver costs
the worker at most ``timeout`` seconds and ``excerpt_limit`` bytes (plus one network read).
"""

import asyncio
import codecs
import functools
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import UTC, datetime
from typing import cast

import httpx

from service.net.transport import BlockedDestination
from service.webhooks.attempt import AttemptResult, FailureKind
from service.webhooks.policy import parse_retry_after
from service.webhooks.signing import webhook_headers

DEFAULT_TIMEOUT_SECONDS = 15.0
RESPONSE_EXCERPT_BYTES = 20 * 1024
USER_AGENT = "StanceTracker-Webhooks/1.0"


async def send(
    client: httpx.AsyncClient,
    *,
    url: str,
    secrets: Sequence[str],
    msg_id: str,
    timestamp: int,
    body: bytes,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    user_agent: str = USER_AGENT,
    excerpt_limit: int = RESPONSE_EXCERPT_BYTES,
) -> AttemptResult:
    """POST ``body`` signed with every secret in ``secrets``; ``timestamp`` is this attempt's.

    ``timeout`` bounds the whole attempt, from connecting to the end of the body excerpt; httpx's
    connect, write and read timeouts use it too. A body that is still arriving at the deadline is
    cut there: the status line already told what the receiver decided.
    """
    headers = {
        "content-type": "application/json",
        "user-agent": user_agent,
        # A compressed reply would be inflated in memory before the cap could apply.
        "accept-encoding": "identity",
        **webhook_headers(secrets, msg_id=msg_id, timestamp=timestamp, body=body),
    }
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    deadline = loop.time() + timeout
    try:
        async with asyncio.timeout_at(deadline):
            # Built whole here rather than by ``client.build_request``: every header is the
            # sender's, and merging them with the client's defaults cost more than the signing.
            request = httpx.Request(
                "POST",
                _parsed(url),
                content=body,
                headers=headers,
                extensions={"timeout": _timeouts(timeout)},
            )
            response = await client.send(request, stream=True, follow_redirects=False)
    except (TimeoutError, httpx.TimeoutException):
        return _failed(FailureKind.TIMEOUT, f"no response within {timeout:g} s", started)
    except BlockedDestination as exc:
        return _failed(FailureKind.BLOCKED, str(exc), started)
    except httpx.ConnectError as exc:
        return _failed(FailureKind.CONNECT, _message(exc), started)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        return _failed(FailureKind.INVALID_URL, _message(exc), started)
    except httpx.HTTPError as exc:
        return _failed(FailureKind.NETWORK, _message(exc), started)
    try:
        excerpt = await _read_excerpt(response, limit=excerpt_limit, deadline=deadline)
    finally:
        await response.aclose()
    return AttemptResult(
        status_code=response.status_code,
        error=None,
        duration_ms=_elapsed_ms(started),
        response_body_excerpt=excerpt,
        retry_after=parse_retry_after(response.headers.get("retry-after"), now=datetime.now(UTC)),
    )


async def _read_excerpt(response: httpx.Response, *, limit: int, deadline: float) -> str:
    """Up to ``limit`` bytes of the raw body, decoded leniently; stops reading at the cap."""
    received = bytearray()
    # httpx types it as an iterator; it is an async generator, and closing it promptly matters.
    raw = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    try:
        async with asyncio.timeout_at(deadline), aclosing(raw) as chunks:
            async for chunk in chunks:
                received += chunk[: limit - len(received)]
                if len(received) >= limit:
                    break
    except (TimeoutError, httpx.HTTPError):
        pass  # keep what arrived; the status is what counts
    # final=False drops a character cut in half at the cap instead of garbling it.
    return codecs.getincrementaldecoder("utf-8")("replace").decode(bytes(received), final=False)


@functools.lru_cache(maxsize=4096)
def _parsed(url: str) -> httpx.URL:
    """The URL parsed once per subscriber, not once per message (``httpx.URL`` is immutable)."""
    return httpx.URL(url)


def _timeouts(seconds: float) -> dict[str, float | None]:
    """The connect, read, write and pool timeouts as the transport takes them from a request."""
    return dict(_timeout(seconds).as_dict())


@functools.lru_cache(maxsize=64)
def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds)


def _failed(kind: FailureKind, error: str, started: float) -> AttemptResult:
    return AttemptResult(
        status_code=None, error=error, duration_ms=_elapsed_ms(started), failure=kind
    )


def _message(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
