"""The lean transport's connections: kept alive per origin, opened through a network backend.

A connection is handed out to one request at a time and comes back only when its response was
read to the end and may be followed by another; an idle one that expired, or on which anything
arrived while idle (data or end-of-file: the server is closing it), is closed instead of reused.
The limits are httpx's: ``max_connections`` open at once (a request waits, up to its pool
timeout, for one to free up) and ``max_keepalive_connections`` kept idle.
"""

import asyncio
import collections
import contextlib
import ssl

import httpcore

READ_BYTES = 64 * 1024
UNLIMITED = 1 << 30

Origin = tuple[str, str, int]  # scheme, host as sent (ASCII), port


class Connection:
    """One socket, the bytes read from it but not consumed yet, and since when it is idle."""

    __slots__ = ("buffer", "idle_since", "origin", "stream")

    def __init__(self, stream: httpcore.AsyncNetworkStream, origin: Origin) -> None:
        self.stream = stream
        self.origin = origin
        self.buffer = bytearray()
        self.idle_since = 0.0

    async def fill(self, timeout: float | None) -> bool:
        """Read what arrives next into the buffer; False at the end of the connection."""
        data = await self.stream.read(READ_BYTES, timeout=timeout)
        self.buffer += data
        return bool(data)


class ConnectionPool:
    """Connections per origin, within httpx's limits."""

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
        self._max_connections = UNLIMITED if max_connections is None else max_connections
        self._max_idle = (
            UNLIMITED if max_keepalive_connections is None else max_keepalive_connections
        )
        self._expiry = keepalive_expiry
        self._idle: dict[Origin, list[Connection]] = {}
        self._idle_count = 0
        self._open = 0  # connections open or being opened, the idle ones included
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    async def acquire(
        self, origin: Origin, *, connect_timeout: float | None, pool_timeout: float | None
    ) -> Connection:
        """An idle connection to ``origin`` that is still good, else a new one within the limit."""
        loop = asyncio.get_running_loop()
        deadline = None if pool_timeout is None else loop.time() + pool_timeout
        while True:
            if self._closed:
                raise RuntimeError("the connection pool is closed")
            idle = self._idle.get(origin)
            while idle:
                connection = idle.pop()  # the most recently used: the least likely to expire
                self._idle_count -= 1
                if self._still_good(connection, loop.time()):
                    return connection
                await self.discard(connection)
            if self._open < self._max_connections:
                self._open += 1
                try:
                    return await self._connect(origin, connect_timeout)
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

    async def release(self, connection: Connection, *, reusable: bool) -> None:
        """A response is done with ``connection``: keep it for the next request, or close it."""
        if reusable and not self._closed and self._idle_count < self._max_idle:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.setdefault(connection.origin, []).append(connection)
            self._idle_count += 1
            self._wake()
        else:
            await self.discard(connection)

    async def discard(self, connection: Connection) -> None:
        """Close ``connection`` for good (an error, an unread body, a cancelled request)."""
        self._open -= 1
        self._wake()
        with contextlib.suppress(Exception):
            await connection.stream.aclose()

    async def aclose(self) -> None:
        self._closed = True
        idle = [connection for connections in self._idle.values() for connection in connections]
        self._idle.clear()
        self._idle_count = 0
        for connection in idle:
            await self.discard(connection)

    async def _connect(self, origin: Origin, timeout: float | None) -> Connection:
        scheme, host, port = origin
        stream = await self._backend.connect_tcp(host, port, timeout=timeout)
        if scheme == "https":
            try:
                # The name, not the address connected to, is what the certificate must cover.
                stream = await stream.start_tls(
                    self._ssl_context, server_hostname=host, timeout=timeout
                )
            except BaseException:
                await stream.aclose()
                raise
        return Connection(stream, origin)

    def _still_good(self, connection: Connection, now: float) -> bool:
        if self._expiry is not None and now - connection.idle_since > self._expiry:
            return False
        return not connection.stream.get_extra_info("is_readable")

    async def _close_any_idle(self) -> None:
        for origin, connections in self._idle.items():
            if connections:
                connection = connections.pop(0)  # the oldest of that origin
                self._idle_count -= 1
                if not connections:
                    del self._idle[origin]
                await self.discard(connection)
                return

    def _wake(self) -> None:
        """Something freed up: every waiter looks again (they are rare, so no fairness)."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
