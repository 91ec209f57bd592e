"""Shared fixtures for the feed tests: the async backend, a client, and raw socket servers.

pytest-httpserver covers ordinary HTTP; the raw servers cover what a well-behaved HTTP server
cannot be made to do: accept a connection and never answer, or drip a body a byte at a time.
"""

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

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
