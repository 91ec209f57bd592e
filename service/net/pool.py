"""httpcore's connection pool with its bookkeeping made linear in the number of connections.

The pool re-plans every time a request arrives or a response is closed: it drops connections that
closed or expired, closes surplus idle ones, and hands queued requests to connections. httpcore
1.0 decides "surplus idle" by counting *all* its connections again for every idle connection it
looks at, so each re-plan costs the square of the pool size, and the count being of all
connections rather than idle ones closes idle connections whenever the pool holds more
connections than ``max_keepalive_connections``, whatever their state. With a few dozen
connections (a delivery worker keeping 32 attempts in flight) that was a millisecond of CPU per
request, and a stream of reconnections.

This subclass keeps the plan and everything else httpcore does, with the idle connections
counted once and correctly. It replaces one private method, so ``supported()`` checks that the
installed httpcore still has the attributes it relies on; the transport falls back to httpcore's
own pool when it does not.
"""

import httpcore
from httpcore._async.interfaces import AsyncConnectionInterface


def supported() -> bool:
    """True when this httpcore has the pool internals the override was written against."""
    base = httpcore.AsyncConnectionPool
    return (
        callable(getattr(base, "_assign_requests_to_connections", None))
        and callable(getattr(base, "create_connection", None))
        and httpcore.__version__.startswith("1.")
    )


class LinearPool(httpcore.AsyncConnectionPool):
    """``httpcore.AsyncConnectionPool`` whose re-planning is linear and keeps idle connections
    up to ``max_keepalive_connections`` idle ones, as documented."""

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing: list[AsyncConnectionInterface] = []
        idle_count = sum(1 for connection in self._connections if connection.is_idle())
        kept: list[AsyncConnectionInterface] = []
        for connection in self._connections:
            idle = connection.is_idle()
            if connection.is_closed():
                continue  # removed: "removing closed connection"
            if connection.has_expired():
                closing.append(connection)  # "closing expired connection"
            elif idle and idle_count > self._max_keepalive_connections:
                closing.append(connection)  # "closing idle connection"
            else:
                kept.append(connection)
                continue
            if idle:
                idle_count -= 1
        self._connections = kept

        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            available = next(
                (
                    connection
                    for connection in self._connections
                    if connection.can_handle_request(origin) and connection.is_available()
                ),
                None,
            )
            if available is not None:
                pool_request.assign_to_connection(available)  # "reusing existing connection"
                continue
            if len(self._connections) < self._max_connections:
                connection = self.create_connection(origin)  # "creating new connection"
                self._connections.append(connection)
                pool_request.assign_to_connection(connection)
                continue
            idle_connection = next(
                (connection for connection in self._connections if connection.is_idle()), None
            )
            if idle_connection is not None:
                # "closing idle connection", then "creating new connection"
                self._connections.remove(idle_connection)
                closing.append(idle_connection)
                connection = self.create_connection(origin)
                self._connections.append(connection)
                pool_request.assign_to_connection(connection)
        return closing
