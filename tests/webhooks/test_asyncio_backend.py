"""The outbound client's asyncio backend and linear pool, against a real server on 127.0.0.1.

The server is a bare asyncio HTTP/1.1 server, so the tests can see what the client does on the
wire: how many connections it opened, what arrived in one read, a connection closed under it.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from service.net.asyncio_backend import COALESCE_BYTES
from service.net.transport import build_client

pytestmark = pytest.mark.anyio

TIMEOUT = httpx.Timeout(5.0)


@dataclass
class Wire:
    """What the server saw, and how it should answer."""

    connections: int = 0
    first_reads: list[bytes] = field(default_factory=list)
    bodies: list[int] = field(default_factory=list)  # request body sizes
    delay: float = 0.0
    reply_bytes: int = 2
    close_after_reply: bool = False
    silent: bool = False  # read the request, never answer


class _Server(asyncio.Protocol):
    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.first = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.wire.connections += 1

    def data_received(self, data: bytes) -> None:
        if self.first:
            self.wire.first_reads.append(data)
            self.first = False
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.partition(":")[2])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.wire.bodies.append(length)
            self.first = True
            if not self.wire.silent:
                asyncio.get_running_loop().call_later(self.wire.delay, self._reply)

    def _reply(self) -> None:
        assert self.transport is not None
        if self.transport.is_closing():
            return
        body = b"x" * self.wire.reply_bytes
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        if self.wire.close_after_reply:
            self.transport.close()


@dataclass
class Endpoint:
    url: str
    wire: Wire


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    wire = Wire()
    server = await asyncio.get_running_loop().create_server(lambda: _Server(wire), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Endpoint(f"http://127.0.0.1:{port}/hook", wire)
    finally:
        server.close()


@pytest.fixture(params=[False, True], ids=["httpcore", "http1"])
def lean(request: pytest.FixtureRequest) -> bool:
    """The same wire behaviour is asked of httpcore on this backend and of the lean transport."""
    return bool(request.param)


def client(lean: bool, connections: int = 10, keepalive: int | None = None) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=connections,
        max_keepalive_connections=connections if keepalive is None else keepalive,
    )
    return build_client(
        allow_private=True,
        user_agent="test",
        timeout=TIMEOUT,
        follow_redirects=False,
        max_redirects=0,
        limits=limits,
        lean=lean,
    )


async def test_sequential_requests_share_one_kept_alive_connection(
    endpoint: Endpoint, lean: bool
) -> None:
    async with client(lean) as c:
        for n in range(5):
            response = await c.post(endpoint.url, content=b"message %d" % n)
            assert (response.status_code, response.text) == (200, "xx")
    assert endpoint.wire.connections == 1
    assert endpoint.wire.bodies == [9] * 5


async def test_a_request_and_its_body_arrive_in_one_write(endpoint: Endpoint, lean: bool) -> None:
    body = b'{"type":"stance.changed"}'
    async with client(lean) as c:
        await c.post(endpoint.url, content=body, headers={"webhook-id": "msg_1"})
    [first] = endpoint.wire.first_reads
    assert first.startswith(b"POST /hook HTTP/1.1\r\n")
    assert first.endswith(b"\r\n\r\n" + body)


async def test_concurrent_requests_keep_their_connections_for_the_next_burst(
    endpoint: Endpoint,
    lean: bool,
) -> None:
    endpoint.wire.delay = 0.1  # all eight are in flight at once
    async with client(lean, connections=8) as c:
        for _ in range(3):
            responses = await asyncio.gather(
                *(c.post(endpoint.url, content=b"m") for _ in range(8))
            )
            assert [r.status_code for r in responses] == [200] * 8
    assert endpoint.wire.connections == 8


async def test_idle_connections_beyond_the_keepalive_limit_are_closed(
    endpoint: Endpoint, lean: bool
) -> None:
    endpoint.wire.delay = 0.1
    async with client(lean, connections=4, keepalive=2) as c:
        for _ in range(2):
            await asyncio.gather(*(c.post(endpoint.url, content=b"m") for _ in range(4)))
    # Two of the first burst's four stayed for the second; it opened two more.
    assert endpoint.wire.connections == 6


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    endpoint: Endpoint, lean: bool
) -> None:
    endpoint.wire.close_after_reply = True
    async with client(lean) as c:
        for _ in range(3):
            response = await c.post(endpoint.url, content=b"m")
            assert response.status_code == 200
            await asyncio.sleep(0.05)  # the close reaches the client before the next request
    assert endpoint.wire.connections == 3


async def test_large_bodies_go_out_and_come_back_whole(endpoint: Endpoint, lean: bool) -> None:
    endpoint.wire.reply_bytes = 3 * 1024 * 1024
    big = b"b" * (4 * COALESCE_BYTES + 123)
    async with client(lean) as c:
        response = await c.post(endpoint.url, content=big)
    assert endpoint.wire.bodies == [len(big)]
    assert len(response.content) == endpoint.wire.reply_bytes


async def test_a_silent_server_is_a_read_timeout(endpoint: Endpoint, lean: bool) -> None:
    endpoint.wire.silent = True
    async with client(lean) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post(endpoint.url, content=b"m", timeout=0.3)


async def test_a_closed_port_is_a_connect_error(closed_port: int, lean: bool) -> None:
    async with client(lean) as c:
        with pytest.raises(httpx.ConnectError):
            await c.post(f"http://127.0.0.1:{closed_port}/hook", content=b"m")
