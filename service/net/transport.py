"""An httpx transport that only opens connections to addresses the URL guard accepted.

The check and the connection happen in one place, the connection pool's network backend: the host is
resolved once, every address is checked, and the socket is opened to one of those very addresses. A
DNS answer that changes between check and connect (rebinding) therefore cannot slip through, and
every hop of a redirect, which httpx sends through the transport as a new request, is checked the
same way before anything is connected.

The request URL keeps its host name, so the Host header, TLS SNI and certificate verification
stay on that name, and the pool keeps reusing connections per name. (Rewriting the URL to the IP
address would make the pool share one TLS connection between different names served by the same
address, sending requests for one name over a connection whose certificate was checked for
another.)
"""

import asyncio
import ssl
from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpcore
import httpx

from service.net import pool
from service.net.asyncio_backend import AsyncioBackend
from service.net.http1_transport import HTTP1Transport
from service.net.pool import LinearPool
from service.net.url_guard import (
    AddressPolicy,
    DisallowedAddress,
    IPAddress,
    Resolver,
    resolve_checked,
)

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class BlockedDestination(httpx.TransportError):
    """The guard refused the destination; nothing was connected.

    A ``TransportError`` so that code handling network failures still handles it, and a class of its
    own so that callers can tell a refusal (log it, do not hammer it) from a network error.
    """

    def __init__(self, message: str, *, host: str, address: IPAddress | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.address = address


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host, then connects the socket to a checked address."""

    def __init__(
        self,
        *,
        resolver: Resolver | None,
        address_allowed: AddressPolicy | None,
        connector: httpcore.AsyncNetworkBackend,
    ) -> None:
        self._resolver = resolver
        self._address_allowed = address_allowed
        self._connector = connector

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        addresses = await self._checked_addresses(host, port, timeout)
        last_error: Exception | None = None
        for remaining_count, address in zip(range(len(addresses), 0, -1), addresses, strict=True):
            # Share what is left of the connect timeout, so one black-holed address cannot use
            # up the time of the others.
            attempt_timeout = None
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    break
                attempt_timeout = left / remaining_count
            try:
                return await self._connector.connect_tcp(
                    str(address),
                    port,
                    timeout=attempt_timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        if last_error is None:
            raise httpcore.ConnectTimeout(f"connecting to {host} timed out")
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedDestination("Unix sockets are not reachable through the guard", host=path)

    async def sleep(self, seconds: float) -> None:
        await self._connector.sleep(seconds)

    async def _checked_addresses(
        self, host: str, port: int, timeout: float | None
    ) -> list[IPAddress]:
        try:
            async with asyncio.timeout(timeout):
                return await resolve_checked(
                    host,
                    port,
                    allow_private=False,
                    resolver=self._resolver,
                    address_allowed=self._address_allowed,
                )
        except DisallowedAddress as exc:
            raise BlockedDestination(str(exc), host=host, address=exc.address) from None
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc


class GuardedTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncHTTPTransport`` whose every new connection goes through the address guard.

    With ``allow_private=True`` (``STANCE_ALLOW_PRIVATE_URLS``, for tests and local use) there is
    no guard. Sockets are opened by ``connector``, ``AsyncioBackend`` unless a test injects its
    own; ``resolver`` and ``address_allowed`` are injection points for tests too.

    With ``lean=True`` the requests go through ``HTTP1Transport`` instead of httpcore: HTTP/1.1
    only, and a fraction of the CPU per request, for the delivery worker's many small POSTs. The
    guard is the same either way, since both open their connections through the same backend.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        address_allowed: AddressPolicy | None = None,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
        http2: bool = False,
        connector: httpcore.AsyncNetworkBackend | None = None,
        lean: bool = False,
    ) -> None:
        self.allow_private = allow_private
        backend: httpcore.AsyncNetworkBackend = connector or AsyncioBackend()
        if not allow_private:
            backend = _GuardedBackend(
                resolver=resolver, address_allowed=address_allowed, connector=backend
            )
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        self._inner: httpx.AsyncBaseTransport
        if lean:
            if http2:
                raise ValueError("the lean transport speaks HTTP/1.1 only")
            self._inner = HTTP1Transport(
                network_backend=backend,
                ssl_context=ssl_context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
            )
        else:
            self._inner = _httpcore_transport(
                backend, ssl_context=ssl_context, verify=verify, limits=limits, http2=http2
            )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # A client with a mounted transport hands it every scheme; refuse what is not HTTP the
        # way httpx itself does, so callers see one error for it.
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"the URL scheme must be http or https, not {request.url.scheme or 'none'}",
                request=request,
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _httpcore_transport(
    backend: httpcore.AsyncNetworkBackend,
    *,
    ssl_context: ssl.SSLContext,
    verify: ssl.SSLContext | bool,
    limits: httpx.Limits,
    http2: bool,
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport, its pool rebuilt to open connections through ``backend``."""
    # trust_env=False: no proxy, netrc or certificate settings from the environment; a proxy
    # would resolve names itself, behind the guard's back.
    inner = httpx.AsyncHTTPTransport(verify=verify, http2=http2, limits=limits, trust_env=False)
    # httpx offers no public way to give its pool a network backend, so the pool it built is
    # replaced by an equal one with ours: the asyncio backend, behind the guard unless private
    # destinations are allowed. Fail closed if httpx changes underneath.
    if not isinstance(getattr(inner, "_pool", None), httpcore.AsyncConnectionPool):
        raise RuntimeError("unsupported httpx version: cannot install the address guard")
    pool_class = LinearPool if pool.supported() else httpcore.AsyncConnectionPool
    inner._pool = pool_class(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=http2,
        network_backend=backend,
    )
    return inner


def build_client(
    *,
    allow_private: bool,
    user_agent: str,
    timeout: httpx.Timeout,
    follow_redirects: bool,
    max_redirects: int,
    verify: ssl.SSLContext | bool = True,
    limits: httpx.Limits = DEFAULT_LIMITS,
    resolver: Resolver | None = None,
    address_allowed: AddressPolicy | None = None,
    lean: bool = False,
) -> httpx.AsyncClient:
    """The shared outbound client for webhooks and feeds; the lifespan owns and closes it.

    Cookies are refused: one client serves every subscriber and feed, and none of them should be
    able to leave state in it. Webhook sends pass ``follow_redirects=False`` per request, so one
    client can follow redirects for feeds and still never follow them for deliveries.
    ``lean`` picks the HTTP/1.1-only transport (see ``GuardedTransport``).
    """
    transport = GuardedTransport(
        allow_private=allow_private,
        resolver=resolver,
        address_allowed=address_allowed,
        verify=verify,
        limits=limits,
        lean=lean,
    )
    return httpx.AsyncClient(
        transport=transport,
        headers={"user-agent": user_agent},
        timeout=timeout,
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        trust_env=False,
    )
