"""A lean HTTP/1.1 transport for httpx: kept-alive connections, one write per request.

httpx and its ``AsyncClient`` stay the interface; this replaces what sits under them (httpcore's
pool, connection and h11 state machine), which cost about two thirds of the delivery worker's
CPU per webhook. It does what a client of small requests needs and no more:

- connections are kept per (scheme, host, port) and opened by the network backend it is given,
  so the URL guard (``transport.GuardedTransport``) still checks every connection and pins it to
  the checked address, and TLS is verified against the host name;
- a request, headers and body, goes out in one write; the response head is parsed once and the
  body framed by ``Content-Length``, chunked coding or the end of the connection;
- a connection goes back to the pool only when its response was read to the end, allowed
  keep-alive and left nothing unexplained in the buffer; anything else closes it (an unread
  body, an error, a cancelled request, ``Connection: close``);
- connect, read, write and pool timeouts come from the request, as httpcore takes them.

HTTP/2, proxies and upgrades are not spoken; the feed client keeps httpcore for those.
"""

import ssl
from collections.abc import AsyncIterator

import httpcore
import httpx

from service.net.http1_pool import Connection, ConnectionPool
from service.net.http1_wire import (
    MAX_CHUNK_LINE_BYTES,
    LocalProtocolError,
    ProtocolError,
    ResponseHead,
    chunk_size,
    encode_request,
    find_head_end,
    parse_head,
)

DEFAULT_PORTS = {"http": 80, "https": 443}
_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    ProtocolError: httpx.RemoteProtocolError,
    LocalProtocolError: httpx.LocalProtocolError,
}
_MAPPED = tuple(_ERRORS)


def _mapped(exc: Exception) -> httpx.TransportError:
    kind = next(mapped for raw, mapped in _ERRORS.items() if isinstance(exc, raw))
    return kind(str(exc) or type(exc).__name__)


class HTTP1Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over connections from ``network_backend``; TLS with ``ssl_context``."""

    def __init__(
        self,
        *,
        network_backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext,
        max_connections: int | None,
        max_keepalive_connections: int | None,
        keepalive_expiry: float | None,
    ) -> None:
        ssl_context.set_alpn_protocols(["http/1.1"])
        self._pool = ConnectionPool(
            network_backend=network_backend,
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"the URL scheme must be http or https: {url}")
        origin = (url.scheme, url.raw_host.decode("ascii"), url.port or DEFAULT_PORTS[url.scheme])
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        try:
            connection = await self._pool.acquire(
                origin, connect_timeout=timeouts.get("connect"), pool_timeout=timeouts.get("pool")
            )
            try:
                head, closes = await _exchange(connection, request, timeouts)
            except BaseException:
                await self._pool.discard(connection)
                raise
        except _MAPPED as exc:
            raise _mapped(exc) from exc
        # A request that asked to close gets its connection closed after it, whatever the reply.
        keep_alive = head.keep_alive and not closes
        body = _ResponseBody(
            self._pool, connection, head, timeouts.get("read"), keep_alive=keep_alive
        )
        return httpx.Response(
            head.status_code,
            headers=head.headers,
            stream=body,
            extensions={"http_version": head.http_version, "reason_phrase": head.reason},
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _ResponseBody(httpx.AsyncByteStream):
    """The body as it arrives; closing it hands the connection back, or closes it."""

    def __init__(
        self,
        pool: ConnectionPool,
        connection: Connection,
        head: ResponseHead,
        read_timeout: float | None,
        *,
        keep_alive: bool,
    ) -> None:
        self._pool = pool
        self._connection = connection
        self._head = head
        self._timeout = read_timeout
        self._keep_alive = keep_alive
        self._complete = head.length == 0
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._complete:
            return
        try:
            if self._head.chunked:
                parts = self._chunked()
            elif self._head.length is None:
                parts = self._until_closed()
            else:
                parts = self._sized(self._head.length)
            async for part in parts:
                yield part
        except _MAPPED as exc:
            raise _mapped(exc) from exc
        self._complete = True

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        connection = self._connection
        reusable = self._complete and self._keep_alive and not connection.buffer
        await self._pool.release(connection, reusable=reusable)

    async def _sized(self, remaining: int) -> AsyncIterator[bytes]:
        connection = self._connection
        buffer = connection.buffer
        while remaining:
            if not buffer and not await connection.fill(self._timeout):
                raise ProtocolError("the server closed the connection in the middle of the body")
            if len(buffer) <= remaining:
                part = bytes(buffer)
                buffer.clear()
            else:
                part = bytes(buffer[:remaining])
                del buffer[:remaining]
            remaining -= len(part)
            yield part

    async def _chunked(self) -> AsyncIterator[bytes]:
        while size := chunk_size(await self._line()):
            async for part in self._sized(size):
                yield part
            if await self._line():
                raise ProtocolError("a chunk is longer than its size said")
        while await self._line():
            pass  # trailer fields, not used

    async def _until_closed(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while connection.buffer or await connection.fill(self._timeout):
            part = bytes(connection.buffer)
            connection.buffer.clear()
            yield part

    async def _line(self) -> bytes:
        """The next CRLF-terminated line of the chunked framing, without its CRLF."""
        connection = self._connection
        buffer = connection.buffer
        while (end := buffer.find(b"\r\n")) < 0:
            if len(buffer) > MAX_CHUNK_LINE_BYTES:
                raise ProtocolError("a line of the chunked framing is too long")
            if not await connection.fill(self._timeout):
                raise ProtocolError("the server closed the connection in the middle of the body")
        line = bytes(buffer[:end])
        del buffer[: end + 2]
        return line


async def _exchange(
    connection: Connection, request: httpx.Request, timeouts: dict[str, float | None]
) -> tuple[ResponseHead, bool]:
    """Write the request, read up to the end of the final (not 1xx) response head; and whether
    the request asked to close the connection after it."""
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
    method = request.method.encode("ascii")
    data, closes = encode_request(method, request.url.raw_path, request.headers.raw, body)
    await connection.stream.write(data, timeout=timeouts.get("write"))
    read_timeout = timeouts.get("read")
    buffer = connection.buffer
    while True:
        end = find_head_end(buffer)
        while end < 0:
            if not await connection.fill(read_timeout):
                raise ProtocolError("the server closed the connection without a response")
            end = find_head_end(buffer)
        head = parse_head(bytes(buffer[:end]), method=method)
        del buffer[: end + 4]
        if head.status_code >= 200:
            return head, closes
        if head.status_code == 101:
            raise ProtocolError("the server switched protocols, which was not asked for")
        # 100 Continue, 103 Early Hints: the real response follows.
