"""The poller: claim the feeds that are due, fetch them concurrently, append what they report.

One cycle (``poll_due``) claims due feeds under a lease (see ``leases``), fetches them with
bounded concurrency overall and per host, and settles each feed that brought a body in a worker
thread (see ``settle``): parse, skip the items already stored, append the new statements through
the command bus, record the items and the feed's next poll. Polls without a body (304s, errors)
are recorded together at the end of the batch. Database work never runs on the event loop, so a
cycle of hundreds of feeds does not stall the API that shares the loop.

Appends are idempotent across crashes and domain refusals are warnings (see ``appender``); one
feed's failure never ends the cycle.
"""

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from service.config import Settings
from service.feeds.appender import StatementAppender, feed_event_id
from service.feeds.catalog_source import load_catalog
from service.feeds.extract import ExtractionCatalog
from service.feeds.fetch import FetchResult, FetchStatus, fetch
from service.feeds.leases import Claim, claim_due, claim_feed, release
from service.feeds.limits import HostLimiter
from service.feeds.options import schedule_policy
from service.feeds.registry import FeedKind
from service.feeds.reports import FoundStatement, PollReport
from service.feeds.settle import Settler
from service.wiring import Services

__all__ = ["FeedPoller", "FoundStatement", "PollReport", "feed_event_id"]

_PG_SETTLING = 4

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Limits:
    """What the polls of one cycle share: the catalog, and how many may fetch and settle."""

    catalog: ExtractionCatalog
    fetching: HostLimiter
    settling: asyncio.Semaphore


class FeedPoller:
    """Polls feeds for one process; any number of pollers, in any processes, may share a database.

    ``services`` supplies the database and the command bus; statements go through
    ``services.bus``, and its after-write hooks (projector catch-up, and in the API process the
    event-stream wake-up and metrics) run for each of them, coalesced across feeds (see
    ``appender``); when ``poll_due`` or ``poll_feed`` returns, they have run for everything.
    ``client`` is the outbound client (``service.feeds.options.build_feed_client``), owned and
    closed by whoever built it.
    """

    def __init__(
        self,
        services: Services,
        client: httpx.AsyncClient,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._database = services.database
        self._appender = StatementAppender(services.bus)
        self._settler = Settler(
            database=services.database,
            appender=self._appender,
            policy=schedule_policy(settings),
            clock=clock,
            jitter=jitter,
        )
        self._client = client
        self._settings = settings
        self._clock = clock
        self._lease = timedelta(seconds=settings.feed_lease_seconds)
        # SQLite has one writer: more settling threads only take turns at its busy timeout
        # (and starve); on PostgreSQL a few overlap their round trips, while extraction holds
        # the GIL anyway.
        self._settling_limit = 1 if services.database.is_sqlite else _PG_SETTLING

    async def poll_due(self) -> list[PollReport]:
        """One cycle: claim due feeds a batch at a time and poll each batch, until none is due.

        Batches keep a claim's lease short compared with the work it covers, and let several
        workers share a large backlog. The loop ends: a polled feed is never due again at once
        (its next poll is at least the floor away, or it is paused or stopped).
        """
        batch = self._settings.feed_claim_batch
        fetching = HostLimiter(
            total=self._settings.feed_concurrency, per_host=self._settings.feed_per_host
        )
        settling = asyncio.Semaphore(self._settling_limit)
        reports: list[PollReport] = []
        while claims := await asyncio.to_thread(
            claim_due, self._database, now=self._clock(), lease=self._lease, limit=batch
        ):
            limits = _Limits(await self._catalog(claims), fetching, settling)
            reports.extend(await self._gather(claims, limits))
            if len(claims) < batch:
                break
        return reports

    async def poll_feed(self, feed_id: uuid.UUID) -> PollReport:
        """Poll one feed now, due or not; raises ``FeedNotFound``/``FeedDeleted``/``FeedBusy``."""
        claim = await asyncio.to_thread(
            claim_feed, self._database, feed_id, now=self._clock(), lease=self._lease
        )
        limits = _Limits(
            await self._catalog([claim]), HostLimiter(total=1, per_host=1), asyncio.Semaphore(1)
        )
        [report] = await self._gather([claim], limits)
        return report

    async def _catalog(self, claims: Sequence[Claim]) -> ExtractionCatalog:
        if all(claim.feed.kind != FeedKind.NEWS for claim in claims):
            return ExtractionCatalog(actors=(), topics=())
        try:
            return await asyncio.to_thread(load_catalog, self._database)
        except BaseException:
            for claim in claims:
                await asyncio.to_thread(release, self._database, claim)
            raise

    async def _poll(self, claim: Claim, limits: _Limits) -> PollReport | tuple[Claim, FetchResult]:
        feed, settings = claim.feed, self._settings
        try:
            async with limits.fetching.slot(feed.url):
                result = await fetch(
                    self._client,
                    feed.url,
                    user_agent=settings.feed_user_agent,
                    etag=feed.etag,
                    last_modified=feed.last_modified,
                    max_bytes=settings.feed_max_bytes,
                    timeout=settings.feed_timeout_seconds,
                    max_redirects=settings.feed_max_redirects,
                    clock=self._clock,
                )
        except asyncio.CancelledError:
            # Stopped before anything was stored: hand the feed back rather than leave it
            # leased until the lease runs out.
            await asyncio.to_thread(release, self._database, claim)
            raise
        if result.status is not FetchStatus.OK:
            return claim, result  # recorded with the batch's other bodiless polls
        async with limits.settling:
            return await asyncio.to_thread(self._settle, claim, result, limits.catalog)

    def _settle(self, claim: Claim, result: FetchResult, catalog: ExtractionCatalog) -> PollReport:
        report = self._settler.settle(claim, result, catalog)
        if report.statements:
            self._after_writes(report.statements)
        return report

    async def _gather(self, claims: Sequence[Claim], limits: _Limits) -> list[PollReport]:
        done = await asyncio.gather(*(self._poll(claim, limits) for claim in claims))
        reports = [poll for poll in done if isinstance(poll, PollReport)]
        bodiless = [poll for poll in done if not isinstance(poll, PollReport)]
        if bodiless:
            reports.extend(await asyncio.to_thread(self._settler.record_all, bodiless))
        await asyncio.to_thread(self._after_writes, ())
        return reports

    def _after_writes(self, found: Sequence[FoundStatement]) -> None:
        """The bus's hooks for what was appended; ``()`` waits for all of it to be done."""
        try:
            if found:
                self._appender.after_writes(found)
            else:
                self._appender.flush()
        except Exception:
            # The projector catches up at the next write or by its own loop; a poll that has
            # appended and recorded its statements has not failed.
            logger.exception("after-write hooks failed after a feed poll")
