"""The poller: claim the feeds that are due, fetch them concurrently, append what they report.

One cycle (``poll_due``) claims due feeds under a lease (see ``leases``), fetches them with
bounded concurrency overall and per host, and settles each one in a worker thread: parse, skip
the items the feed already stored, append each new statement through the command bus, record the
new items and the feed's next poll. Database work never runs on the event loop, so a cycle of
hundreds of feeds does not stall the API that shares the loop.

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
from service.feeds.digest import FeedError, UnsafeXml, propose, publisher_for, read_entries
from service.feeds.extract import ExtractionCatalog
from service.feeds.fetch import FetchResult, FetchStatus, fetch
from service.feeds.leases import (
    Claim,
    PollOutcome,
    SeenItem,
    claim_due,
    claim_feed,
    finish,
    known_hashes,
    release,
)
from service.feeds.limits import HostLimiter
from service.feeds.options import schedule_policy
from service.feeds.registry import FeedKind
from service.feeds.reports import FoundStatement, PollReport, report_for
from service.feeds.schedule import plan_next_poll
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
    event-stream wake-up and metrics) run for each of them, after the feed's last append.
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
        self._client = client
        self._settings = settings
        self._clock = clock
        self._jitter = jitter
        self._policy = schedule_policy(settings)
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
            reports.extend(await asyncio.gather(*(self._poll(c, limits) for c in claims)))
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
        return await self._poll(claim, limits)

    async def _catalog(self, claims: Sequence[Claim]) -> ExtractionCatalog:
        if all(claim.feed.kind != FeedKind.NEWS for claim in claims):
            return ExtractionCatalog(actors=(), topics=())
        try:
            return await asyncio.to_thread(load_catalog, self._database)
        except BaseException:
            for claim in claims:
                await asyncio.to_thread(release, self._database, claim)
            raise

    async def _poll(self, claim: Claim, limits: _Limits) -> PollReport:
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
        async with limits.settling:
            return await asyncio.to_thread(self._settle_safely, claim, result, limits.catalog)

    def _settle_safely(
        self, claim: Claim, result: FetchResult, catalog: ExtractionCatalog
    ) -> PollReport:
        try:
            return self._settle(claim, result, catalog)
        except Exception as exc:
            logger.exception("polling feed %s (%s) failed", claim.feed.id, claim.feed.url)
            failure = FetchResult(
                status=FetchStatus.ERROR,
                url=result.url,
                http_status=result.http_status,
                error=f"internal error: {type(exc).__name__}: {exc}",
            )
            try:
                return self._record(claim, failure)
            except Exception:
                logger.exception("cannot record the failure of feed %s", claim.feed.id)
                return report_for(claim, failure, plan=None, recorded=False)

    def _settle(self, claim: Claim, result: FetchResult, catalog: ExtractionCatalog) -> PollReport:
        if result.status is not FetchStatus.OK:
            return self._record(claim, result)
        feed = claim.feed
        try:
            document = read_entries(
                result.body,
                kind=feed.kind,
                content_type=result.content_type,
                url=result.url,
                feed_id=str(feed.id),
            )
        except (FeedError, UnsafeXml) as exc:
            refused = FetchResult(
                status=FetchStatus.ERROR,
                url=result.url,
                http_status=result.http_status,
                error=f"unreadable feed: {exc}",
            )
            return self._record(claim, refused)
        known = known_hashes(self._database, feed.id, [e.guid_hash for e in document.entries])
        warnings = list(document.warnings)
        if result.permanent_redirect:
            warnings.append(f"moved permanently to {result.permanent_redirect}; update the URL")
        publisher = publisher_for(feed.name, document.title, feed.url)
        observed_at = self._clock()
        found: list[FoundStatement] = []
        seen: list[SeenItem] = []
        try:
            for entry in document.entries:
                if entry.guid_hash in known:
                    continue
                commands = propose(
                    entry,
                    catalog=catalog,
                    feed_id=str(feed.id),
                    publisher=publisher,
                    observed_at=observed_at,
                )
                recorded = [
                    statement
                    for command in commands
                    if (statement := self._appender.append(feed.id, command, entry.link, warnings))
                ]
                found.extend(recorded)
                seen.append(SeenItem(entry.guid_hash, entry.link, entry.title, len(recorded)))
        finally:
            self._appender.after_writes(found)
        return self._record(
            claim,
            result,
            feed_ttl=document.ttl,
            warnings=tuple(warnings),
            items=tuple(seen),
            statements=tuple(found),
        )

    def _record(
        self,
        claim: Claim,
        result: FetchResult,
        *,
        feed_ttl: timedelta | None = None,
        warnings: tuple[str, ...] | None = None,
        items: tuple[SeenItem, ...] = (),
        statements: tuple[FoundStatement, ...] = (),
    ) -> PollReport:
        feed, now = claim.feed, self._clock()
        plan = plan_next_poll(
            now=now,
            status=result.status,
            interval=timedelta(seconds=feed.interval_seconds),
            consecutive_failures=feed.consecutive_failures,
            feed_ttl=feed_ttl,
            http_ttl=result.ttl,
            retry_after=result.retry_after,
            policy=self._policy,
            jitter_draw=self._jitter(),
        )
        succeeded = result.status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED)
        outcome = PollOutcome(
            polled_at=now,
            outcome=result.status.value,
            http_status=result.http_status,
            plan=plan,
            succeeded=succeeded,
            etag=result.etag,
            last_modified=result.last_modified,
            error=None if succeeded else result.error,
            warnings=warnings,
            items=items,
            statements=len(statements),
        )
        recorded = finish(self._database, claim, outcome)
        if not recorded:
            logger.warning("feed %s: lease lost before its poll was recorded", feed.id)
        return report_for(
            claim, result, plan=plan, recorded=recorded, statements=statements, outcome=outcome
        )
