"""Reads served through the response cache: the version check, then the cached bytes or one
computation per query and version at a time.

A computation runs in a worker thread, in one database snapshot that first reads the version
and then runs the query, so the answer is filed under exactly the state it shows (and the
version source learns of that state, if it is newer than what it held). Concurrent requests for
the same query at the same version wait for one computation instead of each running it: after
each write every client misses at once, and a whole matrix is the expensive part.

A request joins a computation only if it was started for the version the request serves, and a
version refresh only if no ``mark_stale`` came after it started: so joining never hands a
request an answer older than a write it has already seen answered.
"""

import asyncio
from collections.abc import Callable, Hashable
from typing import NamedTuple, TypeVar

import anyio.to_thread
from sqlalchemy import Connection

from service.db import Database
from service.readcache.responses import AliasBook, CachedAnswer, ResponseCache, entity_tag
from service.readcache.version import ReadModelVersion, VersionSource, read_version

T = TypeVar("T")


class Built(NamedTuple):
    """What a query produced: the status (200, or 404 for "there is none") and the body."""

    status: int
    body: bytes
    media_type: str = "application/json"


Build = Callable[[Connection], Built]
"""Runs the query on the snapshot's connection and serializes its answer; in a worker thread."""


class CachedReads:
    """The cache, the version source and the database, for routes that answer from the cache."""

    def __init__(self, database: Database, version: VersionSource, cache: ResponseCache) -> None:
        self.database = database
        self.version = version
        self.cache = cache
        self.aliases = AliasBook(max_entries=cache.max_entries if cache.enabled else 0)
        self._flights: dict[Hashable, asyncio.Future[object]] = {}

    async def current_version(self) -> ReadModelVersion:
        """The version to serve now: held in memory, or read again (once for all waiters).

        When a refresh is merely due (the version is half its max age), it starts in the
        background and this request goes on with the version held."""
        version, refresh_due = self.version.peek()
        if refresh_due:
            refreshing = self._flight(("version", self.version.stale_count), self.version.refresh)
            if version is None:
                return await asyncio.shield(refreshing)
        return version  # type: ignore[return-value]

    async def answer(self, key: Hashable, build: Build) -> CachedAnswer:
        """The answer to ``key`` at the current version, from the cache or from ``build``."""
        version = await self.current_version()
        found = self.cache.get(key, version)
        if found is not None:
            return found
        computing = self._flight((key, version), lambda: self.compute(key, build))
        # Shielded: a client that goes away must not cancel the others' computation.
        return await asyncio.shield(computing)

    def compute(self, key: Hashable, build: Build) -> CachedAnswer:
        """Run ``build`` in one snapshot with its version, keep the answer, and return it."""
        stale_count, started_at = self.version.stale_count, self.version.now()
        with self.database.snapshot() as connection:
            seen = read_version(connection)
            built = build(connection)
        self.version.observe(seen, read_started_at=started_at, stale_count=stale_count)
        answer = CachedAnswer(
            version=seen,
            status=built.status,
            media_type=built.media_type,
            body=built.body,
            etag=entity_tag(seen, key) if built.status == 200 else None,
            key_bytes=len(repr(key)),
        )
        self.cache.put(key, answer)
        return answer

    def _flight(self, key: Hashable, work: Callable[[], T]) -> "asyncio.Future[T]":
        """The computation of ``key`` under way, or a new one in a worker thread."""
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(anyio.to_thread.run_sync(work))
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        return flight  # type: ignore[return-value]

    def _landed(self, key: Hashable, flight: asyncio.Future[object]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # every waiter may have gone: mark the error as seen
