"""Repeated reads answered from the response cache before routing and parameter parsing.

On a cached read FastAPI's routing and dependency solving cost several times what sending the
bytes does. A cached route writes down each raw request it answered (path and query string)
with the cache key it parsed it into (``CachedReads.aliases``); this middleware looks the next
identical request up there and, when the answer is cached at the version held now, sends it
at once. Anything else goes on to the app unchanged: another method, an ``Authorization``
header (the key must be checked), a ``min_position`` in the query or an ``X-Min-Position``
header (the read must wait for that position first), private reads, an unknown raw request, an
answer not cached at the current version, or not a 200. So the fast path never answers what the
route would not have answered with the same bytes; it only skips the work of finding out again.

It sits inside the metrics and error middlewares, and marks the scope with the route it
stands in for, so requests are counted under their route template as before.
"""

from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.cached_responses import send_cached
from service.readcache import CachedReads


def request_alias(scope: Scope) -> tuple[str, str, bytes]:
    """The raw form of a request that fixes its answer: method, path and query string."""
    return (scope["method"], scope["path"], scope["query_string"])


class CacheFrontMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_get = scope["type"] == "http" and scope["method"] == "GET"
        if not (is_get and await self._answered(scope, send)):
            await self.app(scope, receive, send)

    async def _answered(self, scope: Scope, send: Send) -> bool:
        runtime = getattr(scope["app"].state, "runtime", None)
        if runtime is None or not runtime.settings.public_reads:
            return False
        if b"min_position" in scope["query_string"]:
            return False
        found = runtime.reads.aliases.lookup(request_alias(scope))
        if found is None:
            return False
        tags: list[str] = []
        for name, value in scope["headers"]:
            if name in (b"authorization", b"x-min-position"):
                return False
            if name == b"if-none-match":
                tags.append(value.decode("latin-1"))
        key, route = found
        # A stale version is read again here (once for all waiting requests) rather than by
        # the route: after every write, and every max_age, each open connection would otherwise
        # take the slow way once.
        version = await runtime.reads.current_version()
        answer = runtime.reads.cache.get(key, version)
        if answer is None or answer.status != 200:
            return False
        scope["route"] = route
        if_none_match = ", ".join(tags) if tags else None
        await send_cached(answer, send, if_none_match=if_none_match, public=True)
        return True


_MAX_ALIAS_BYTES = 2048
"""Longer requests (hundreds of actors) still get cached answers, through the route: the fast
path is for the queries dashboards repeat, and the alias book should not hold megabytes."""


def remember_request(scope: Scope, reads: CachedReads, key: object) -> None:
    """After a cached route answered: the same raw request may skip the route next time."""
    if len(scope["path"]) + len(scope["query_string"]) <= _MAX_ALIAS_BYTES:
        reads.aliases.remember(request_alias(scope), key, scope.get("route"))
