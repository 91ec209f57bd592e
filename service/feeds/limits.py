"""Bounded concurrency for a poll cycle: so many fetches in all, and fewer per host.

Many feeds often live on one host (a publisher's section feeds); polling them all at once is rude
and gets us rate-limited, so each host has its own, smaller limit inside the global one.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx


class HostLimiter:
    """``async with limiter.slot(url):`` waits for a free slot overall and on the URL's host."""

    def __init__(self, *, total: int, per_host: int) -> None:
        if total < 1 or per_host < 1:
            raise ValueError("limits must be at least 1")
        self._total = asyncio.Semaphore(total)
        self._per_host = per_host
        self._hosts: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        host = _host_of(url)
        semaphore, users = self._hosts.get(host, (asyncio.Semaphore(self._per_host), 0))
        self._hosts[host] = (semaphore, users + 1)
        try:
            async with semaphore, self._total:
                yield
        finally:
            semaphore, users = self._hosts[host]
            if users == 1:
                del self._hosts[host]  # forget idle hosts so the map does not grow forever
            else:
                self._hosts[host] = (semaphore, users - 1)


def _host_of(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    return f"{parsed.host}:{parsed.port or ''}"
