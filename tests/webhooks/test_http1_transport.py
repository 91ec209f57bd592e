"""The lean HTTP/1.1 transport's framing and connection reuse, against a scripted raw server.

The server answers each request with the next scripted reply, byte for byte, so the tests can
send what a well-behaved server would not (a chunked body, a 100 Continue, a broken status line,
a body cut short) and see on the server's side which connections the client opened.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from service.net.transport import build_client
from service.webhooks.sender import send
from service.webhooks.signing import generate_secret

pytestmark = pytest.mark.anyio

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


@dataclass
class Script:
    """What the server answers, in order, and what it saw."""

    replies: list[bytes] = field(default_factory=list)
    close_after: set[int] = field(default_factory=set)  # request numbers it hangs up after
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)  # each request's head


class _Server(asyncio.Protocol):
    def __init__(self, script: Script) -> None:
        self.script = script
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.script.connections += 1

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end]
            length = 0
            for line in head.decode("latin-1").lower().split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.partition(":")[2])
                if line == "transfer-encoding: chunked":
                    # Enough for these tests: the body ends at the first zero-size chunk.
                    last = self.buffer.find(b"\r\n0\r\n\r\n", end)
                    if last < 0:
                        return
                    length = last + 7 - (end + 4)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            number = len(self.script.requests)
            self.script.requests.append(head)
            reply = self.script.replies[number] if number < len(self.script.replies) else OK
            self.transport.write(reply)
            if number in self.script.close_after:
                self.transport.close()
                return


@dataclass
class Endpoint:
    url: str
    script: Script


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    script = Script()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Server(script), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Endpoint(f"http://127.0.0.1:{port}/hook", script)
    finally:
        server.close()


def lean_client(connections: int = 4, timeout: float = 5.0) -> httpx.AsyncClient:
    return build_client(
        allow_private=True,
        user_agent="test",
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        max_redirects=0,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        lean=True,
    )


async def test_a_chunked_body_is_decoded_and_the_connection_kept(endpoint: Endpoint) -> None:
    endpoint.script.replies = [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\ntrailer: x\r\n\r\n",
    ]
    async with lean_client() as client:
        first = await client.post(endpoint.url, content=b"a")
        second = await client.post(endpoint.url, content=b"b")
    assert first.text == "hello world"
    assert second.text == "ok"
    assert endpoint.script.connections == 1


async def test_a_body_until_the_connection_closes_is_read_whole(endpoint: Endpoint) -> None:
    endpoint.script.replies = [b"HTTP/1.1 200 OK\r\n\r\nno length given"]
    endpoint.script.close_after = {0}
    async with lean_client() as client:
        first = await client.post(endpoint.url, content=b"a")
        second = await client.post(endpoint.url, content=b"b")
    assert (first.text, second.text) == ("no length given", "ok")
    assert endpoint.script.connections == 2


async def test_connection_close_is_honoured(endpoint: Endpoint) -> None:
    endpoint.script.replies = [
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\nx"
    ]
    async with lean_client() as client:
        await client.post(endpoint.url, content=b"a")
        await client.post(endpoint.url, content=b"b")
    assert endpoint.script.connections == 2


async def test_informational_responses_are_skipped(endpoint: Endpoint) -> None:
    endpoint.script.replies = [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"
    ]
    async with lean_client() as client:
        response = await client.post(endpoint.url, content=b"a")
        again = await client.post(endpoint.url, content=b"b")
    assert (response.status_code, response.content) == (201, b"")
    assert again.status_code == 200
    assert endpoint.script.connections == 1


async def test_head_and_no_content_replies_keep_the_connection(endpoint: Endpoint) -> None:
    endpoint.script.replies = [
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n",  # HEAD: the length is not a body
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]
    async with lean_client() as client:
        head = await client.head(endpoint.url)
        empty = await client.post(endpoint.url, content=b"a")
        last = await client.post(endpoint.url, content=b"b")
    assert (head.status_code, empty.status_code, last.text) == (200, 204, "ok")
    assert endpoint.script.connections == 1


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n folded: header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    ],
)
async def test_what_is_not_http_is_a_protocol_error_and_the_connection_dropped(
    endpoint: Endpoint, reply: bytes
) -> None:
    endpoint.script.replies = [reply]
    async with lean_client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(endpoint.url, content=b"a")
        after = await client.post(endpoint.url, content=b"b")
    assert after.text == "ok"
    assert endpoint.script.connections == 2


async def test_a_body_cut_short_is_a_protocol_error(endpoint: Endpoint) -> None:
    endpoint.script.replies = [b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"]
    endpoint.script.close_after = {0}
    async with lean_client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(endpoint.url, content=b"a")


async def test_a_header_that_would_split_the_request_is_refused_unsent(
    endpoint: Endpoint,
) -> None:
    async with lean_client() as client:
        with pytest.raises(httpx.LocalProtocolError):
            await client.post(endpoint.url, content=b"a", headers={"x-evil": "a\r\nx-injected: 1"})
    assert endpoint.script.requests == []


async def test_an_unread_body_closes_its_connection(endpoint: Endpoint) -> None:
    """The sender stops at its cap; what is left of the body must not be read as a reply."""
    endpoint.script.replies = [b"HTTP/1.1 500 Oops\r\ncontent-length: 50000\r\n\r\n" + b"e" * 50000]
    async with lean_client() as client:
        result = await send(
            client,
            url=endpoint.url,
            secrets=[generate_secret()],
            msg_id="msg_1",
            timestamp=1_700_000_000,
            body=b"{}",
            excerpt_limit=10,
        )
        after = await client.post(endpoint.url, content=b"b")
    assert (result.status_code, result.response_body_excerpt) == (500, "e" * 10)
    assert after.text == "ok"
    assert endpoint.script.connections == 2


async def test_a_cancelled_request_does_not_leave_its_connection_behind(endpoint: Endpoint) -> None:
    endpoint.script.replies = [b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab"]  # never ends
    async with lean_client(connections=1) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                response = await client.post(endpoint.url, content=b"a")
                await response.aread()
        # The only connection slot is free again, on a new connection.
        after = await client.post(endpoint.url, content=b"b")
    assert after.text == "ok"
    assert endpoint.script.connections == 2


async def test_a_full_pool_waits_then_times_out(endpoint: Endpoint) -> None:
    async with lean_client(connections=1) as client:
        async with client.stream("POST", endpoint.url, content=b"a") as held:
            with pytest.raises(httpx.PoolTimeout):
                await client.post(endpoint.url, content=b"b", timeout=httpx.Timeout(5, pool=0.2))
            waiting = asyncio.create_task(client.post(endpoint.url, content=b"c"))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            await held.aread()
        # Closing the held response handed its connection to the waiting request.
        assert (await waiting).text == "ok"
    assert endpoint.script.connections == 1


async def test_a_streamed_request_body_goes_out_chunked(endpoint: Endpoint) -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b"one"
        yield b"two"

    async with lean_client() as client:
        response = await client.post(endpoint.url, content=parts())
    assert response.status_code == 200
    [head] = endpoint.script.requests
    assert b"transfer-encoding: chunked" in head.lower()


async def test_a_request_that_asks_to_close_does_not_leave_its_connection_open(
    endpoint: Endpoint,
) -> None:
    async with lean_client() as client:
        await client.post(endpoint.url, content=b"a", headers={"connection": "close"})
        await client.post(endpoint.url, content=b"b")
    assert endpoint.script.connections == 2
