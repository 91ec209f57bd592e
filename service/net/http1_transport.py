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

import asyncio
import collections
import contextlib
import ssl
from collections.abc import AsyncIterator

import httpcore
import httpx

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

READ_BYTES = 64 * 1024
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

Key = tuple[str, str, int]


class _Connection:
    """One socket, the bytes read from it but not consumed yet, and since when it is idle."""

    __slots__ = ("buffer", "idle_since", "key", "stream")

    def __init__(self, stream: httpcore.AsyncNetworkStream, key: Key) -> None:
        self.stream = stream
        self.key = key
        self.buffer = bytearray()
        self.idle_since = 0.0

    async def fill(self, timeout: float | None) -> bool:
        """Read what arrives next into the buffer; False at the end of the connection."""
        data = await self.stream.read(READ_BYTES, timeout=timeout)
        self.buffer += data
        return bool(data)


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
        self._backend = network_backend
        self._ssl_context = ssl_context
        ssl_context.set_alpn_protocols(["http/1.1"])
        self._max_connections = max_connections if max_connections is not None else 1 << 30
        self._max_idle = (
            max_keepalive_connections if max_keepalive_connections is not None else 1 << 30
        )
        self._expiry = keepalive_expiry
        self._idle: dict[Key, list[_Connection]] = {}
        self._idle_count = 0
        self._open = 0  # connections open or being opened, the idle ones included
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"the URL scheme must be http or https: {url}")
        key = (url.scheme, url.raw_host.decode("ascii"), url.port or DEFAULT_PORTS[url.scheme])
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        try:
            connection = await self._acquire(key, timeouts)
            try:
                head = await self._exchange(connection, request, timeouts)
            except BaseException:
                await self._discard(connection)
                raise
        except _MAPPED as exc:
            raise _mapped(exc) from exc
        body = _ResponseBody(self, connection, head, timeouts.get("read"))
        return httpx.Response(
            head.status_code,
            headers=head.headers,
            stream=body,
            extensions={"http_version": head.http_version, "reason_phrase": head.reason},
        )

    async def aclose(self) -> None:
        self._closed = True
        idle = [connection for connections in self._idle.values() for connection in connections]
        self._idle.clear()
        self._idle_count = 0
        for connection in idle:
            await self._discard(connection)

    # --- one exchange ----------------------------------------------------------------------

    async def _exchange(
        self, connection: _Connection, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> ResponseHead:
        """Write the request, read up to the end of the final (not 1xx) response head."""
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        method = request.method.encode("ascii")
        data = encode_request(
            method,
            request.url.raw_path,
            request.headers.raw,
            body,
            chunked="transfer-encoding" in request.headers,
        )
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
                return head
            if head.status_code == 101:
                raise ProtocolError("the server switched protocols, which was not asked for")
            # 100 Continue, 103 Early Hints: the real response follows.

    # --- the pool --------------------------------------------------------------------------

    async def _acquire(self, key: Key, timeouts: dict[str, float | None]) -> _Connection:
        """An idle connection to ``key`` that is still good, else a new one within the limit."""
        loop = asyncio.get_running_loop()
        pool_timeout = timeouts.get("pool")
        deadline = None if pool_timeout is None else loop.time() + pool_timeout
        while True:
            if self._closed:
                raise RuntimeError("the transport is closed")
            idle = self._idle.get(key)
            while idle:
                connection = idle.pop()  # the most recently used: the least likely to expire
                self._idle_count -= 1
                if self._still_good(connection, loop.time()):
                    return connection
                await self._discard(connection)
            if self._open < self._max_connections:
                self._open += 1
                try:
                    return await self._connect(key, timeouts.get("connect"))
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            if self._idle_count:
                await self._close_any_idle()  # make room: another origin's idle connection
                continue
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except TimeoutError:
                raise httpcore.PoolTimeout("no connection became free in time") from None
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    async def _connect(self, key: Key, timeout: float | None) -> _Connection:
        scheme, host, port = key
        stream = await self._backend.connect_tcp(host, port, timeout=timeout)
        if scheme == "https":
            try:
                stream = await stream.start_tls(
                    self._ssl_context, server_hostname=host, timeout=timeout
                )
            except BaseException:
                await stream.aclose()
                raise
        return _Connection(stream, key)

    def _still_good(self, connection: _Connection, now: float) -> bool:
        """Not expired, and nothing arrived while idle (data or end-of-file: it is closing)."""
        if self._expiry is not None and now - connection.idle_since > self._expiry:
            return False
        return not connection.stream.get_extra_info("is_readable")

    async def release(self, connection: _Connection, *, reusable: bool) -> None:
        """A response is done with ``connection``: keep it for the next request, or close it."""
        if reusable and not self._closed and self._idle_count < self._max_idle:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.setdefault(connection.key, []).append(connection)
            self._idle_count += 1
            self._wake()
        else:
            await self._discard(connection)

    async def _discard(self, connection: _Connection) -> None:
        self._open -= 1
        self._wake()
        with contextlib.suppress(Exception):
            await connection.stream.aclose()

    async def _close_any_idle(self) -> None:
        for key, connections in self._idle.items():
            if connections:
                connection = connections.pop(0)  # the oldest of that origin
                self._idle_count -= 1
                if not connections:
                    del self._idle[key]
                await self._discard(connection)
                return

    def _wake(self) -> None:
        """Something freed up: every waiter looks again (they are rare, so no fairness)."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)


class _ResponseBody(httpx.AsyncByteStream):
    """The body as it arrives; closing it hands the connection back, or closes it."""

    def __init__(
        self,
        transport: HTTP1Transport,
        connection: _Connection,
        head: ResponseHead,
        read_timeout: float | None,
    ) -> None:
        self._transport = transport
        self._connection = connection
        self._head = head
        self._timeout = read_timeout
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
        reusable = self._complete and self._head.keep_alive and not connection.buffer
        await self._transport.release(connection, reusable=reusable)

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
