"""Shared fixtures for the feed tests: the async backend, a client, and raw socket servers; for
the poller, services on a test database (SQLite and PostgreSQL) with the demo catalog, and a feed
site that can change.

pytest-httpserver covers ordinary HTTP; the raw servers cover what a well-behaved HTTP server
cannot be made to do: accept a connection and never answer, or drip a body a byte at a time.
"""

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
from werkzeug import Request, Response

from service.config import Settings
from service.db import Database
from service.demo.catalog import ACTORS, TOPICS
from service.feeds.options import build_feed_client
from service.feeds.registry import FeedState, add_feed
from service.wiring import Services, build_services

USER_AGENT = "StanceTracker-test/1.0 (+https://example.org/bot)"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """Start a one-connection-at-a-time TCP server on 127.0.0.1 running ``serve(conn)``."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def start(serve: Callable[[socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        listeners.append(listener)

        def loop() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except (TimeoutError, OSError):
                    continue
                threading.Thread(target=_guarded, args=(serve, conn), daemon=True).start()

        threading.Thread(target=loop, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/feed"

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


def _guarded(serve: Callable[[socket.socket], None], conn: socket.socket) -> None:
    with conn, contextlib.suppress(OSError):
        serve(conn)


def hang(conn: socket.socket) -> None:
    """Read the request, then say nothing for longer than any test waits."""
    conn.recv(65536)
    time.sleep(5)


def drip(conn: socket.socket) -> None:
    """Answer promptly, then send the body one byte every 100 ms, for ever."""
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n")
    for _ in range(100):
        conn.sendall(b" ")
        time.sleep(0.1)


# --- the poller's fixtures: services on a test database, feeds served on 127.0.0.1 ---------------


def feed_settings(**overrides: Any) -> Settings:
    """Settings for polling local test servers: private addresses allowed, short timeouts."""
    values: dict[str, Any] = {
        "allow_private_urls": True,
        "feed_user_agent": USER_AGENT,
        "feed_timeout_seconds": 5.0,
        "feed_min_interval_seconds": 60,
        "feed_pause_after_failures": 3,
    }
    return Settings(**{**values, **overrides})


def catalog_services(database: Database, settings: Settings | None = None) -> Services:
    """Services on ``database`` with the demo's actors and topics registered (no statements)."""
    services = build_services(settings or feed_settings(), database)
    for command in (*ACTORS, *TOPICS):
        services.bus.execute(command, metadata={"recorded_by": "test"})
    return services


@pytest.fixture
def services(database: Database) -> Services:
    return catalog_services(database)


@pytest.fixture
async def feed_client() -> AsyncIterator[httpx.AsyncClient]:
    async with build_feed_client(feed_settings()) as http:
        yield http


def add_test_feed(
    services: Services, url: str, *, kind: str = "news", name: str | None = "Test Wire"
) -> FeedState:
    return add_feed(
        services.database,
        url=url,
        kind=kind,
        interval_seconds=600,
        name=name,
        created_by="test",
        now=datetime.now(UTC),
    )


class FeedSite:
    """One RSS feed whose items can change; answers 304 to its current ETag; counts requests."""

    def __init__(self, items: list[tuple[str, str, str]] | None = None) -> None:
        self.items = list(items or [])
        self.requests = 0
        self.statuses: list[int] = []

    @property
    def etag(self) -> str:
        return (
            '"'
            + sha256("|".join(link for link, _, _ in self.items).encode()).hexdigest()[:16]
            + '"'
        )

    def body(self) -> bytes:
        entries = "".join(
            f"<item><guid>{escape(link)}</guid><link>{escape(link)}</link>"
            f"<title>{escape(title)}</title><description>{escape(text)}</description>"
            f"<pubDate>Mon, 01 Jun 2026 09:00:00 GMT</pubDate></item>"
            for link, title, text in self.items
        )
        return (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>Test Wire</title><link>https://example.org/</link>{entries}</channel></rss>"
        ).encode()

    def handle(self, request: Request) -> Response:
        self.requests += 1
        if request.headers.get("If-None-Match") == self.etag:
            self.statuses.append(304)
            return Response(status=304, headers={"ETag": self.etag})
        self.statuses.append(200)
        return Response(
            self.body(), content_type="application/rss+xml", headers={"ETag": self.etag}
        )
