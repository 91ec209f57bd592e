"""An httpcore network backend on asyncio's own transports, for the outbound client.

httpcore's default backend goes through anyio, and two of its costs dominate a client that sends
many small requests over kept-alive connections:

- Before every request is assigned, and again when every response is closed, the pool asks each
  of its connections whether it has expired, and an idle HTTP/1.1 connection answers by asking
  its stream whether the socket is readable (a server that closed it). Through anyio every such
  question rebuilds a dictionary of socket attributes, with a ``getpeername`` system call, and
  then polls the socket: tens of system calls per request with a few dozen connections.
- Every write is a system call of its own: a request's headers and its body go out as two
  ``send`` calls, and on a machine where a loopback ``send`` costs hundreds of microseconds
  that is most of a small webhook's cost.

Here a protocol object receives what the event loop reads anyway, so "is it readable" is a look at
its buffer and end-of-file flag, no system call at all; and writes are held until the connection
next reads (or until ``COALESCE_BYTES`` are waiting), so a request with its body leaves in one
``send``. Holding writes is safe for the way httpcore uses a stream: it reads the response only
after writing the whole request, and reading is what sends what is held.
"""

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

COALESCE_BYTES = 64 * 1024  # held writes are sent once this much is waiting
READ_HIGH_WATER = 256 * 1024  # reading pauses while this much is buffered and unread


class _Protocol(asyncio.Protocol):
    """Buffers what arrives and remembers how the connection ended."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False  # the peer finished sending, or the connection is gone
        self.error: Exception | None = None
        self.lost = False
        self.reading_paused = False
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._write_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= READ_HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.eof = True
        self.error = exc
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writer()

    async def wait_readable(self) -> None:
        self._readable = asyncio.get_running_loop().create_future()
        try:
            await self._readable
        finally:
            self._readable = None

    async def wait_writable(self) -> None:
        while self._write_paused and not self.lost:
            self._writable = asyncio.get_running_loop().create_future()
            try:
                await self._writable
            finally:
                self._writable = None

    def _wake_reader(self) -> None:
        if self._readable is not None and not self._readable.done():
            self._readable.set_result(None)

    def _wake_writer(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection: reads from the protocol's buffer, holds writes until a read."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._held: list[bytes] = []
        self._held_bytes = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._send_held()
        protocol = self._protocol
        try:
            async with asyncio.timeout(timeout):
                while not protocol.buffer and not protocol.eof:
                    await protocol.wait_readable()
        except TimeoutError:
            raise httpcore.ReadTimeout(f"no data within {timeout:g} s") from None
        if protocol.buffer:
            data = bytes(protocol.buffer[:max_bytes])
            del protocol.buffer[:max_bytes]
            if protocol.reading_paused and len(protocol.buffer) < READ_HIGH_WATER // 2:
                protocol.reading_paused = False
                self._transport.resume_reading()
            return data
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._protocol.lost or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._held.append(bytes(buffer))
        self._held_bytes += len(buffer)
        if self._held_bytes < COALESCE_BYTES:
            return
        self._send_held()
        try:
            async with asyncio.timeout(timeout):
                await self._protocol.wait_writable()
        except TimeoutError:
            raise httpcore.WriteTimeout(f"could not write within {timeout:g} s") from None
        if self._protocol.lost:
            raise httpcore.WriteError("the connection was lost while writing")

    async def aclose(self) -> None:
        if not self._transport.is_closing():
            self._send_held()
            self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self._send_held()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport,
                    self._protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout(f"no TLS handshake within {timeout:g} s") from None
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._protocol.transport = transport
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Data or end-of-file on an idle connection: the server is closing it.
            return bool(self._protocol.buffer) or self._protocol.eof
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None

    def _send_held(self) -> None:
        if not self._held:
            return
        held, self._held, self._held_bytes = self._held, [], 0
        if not self._protocol.lost and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens plain TCP connections with the running loop; TLS is started on them by httpcore."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = None if local_address is None else (local_address, 0)
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, local_addr=local
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        raw = transport.get_extra_info("socket")
        if raw is not None:
            for option in socket_options or ():
                raw.setsockopt(*option)
            # asyncio sets it already; said again because coalescing relies on it.
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Unix sockets are not supported by this client")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
