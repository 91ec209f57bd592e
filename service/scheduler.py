"""The periodic jobs, on APScheduler 3.x's ``AsyncIOScheduler``: for now, one feed poll cycle.

In a fleet, every worker keeps the schedule but only the leader (``is_leader``) runs the cycles.

One interval job calls ``FeedPoller.poll_due()``. ``max_instances=1``: a cycle that outlasts the
interval is not joined by a second one in this process (and claims keep other processes off the
same feeds). ``coalesce=True``: runs missed while the loop was busy or the machine asleep collapse
into one. The misfire grace lets a run that starts a little late still happen rather than be
skipped. The first cycle runs at once, so feeds that fell due while the service was down are
polled on start.

Use it from a running event loop (the app's lifespan, or ``asyncio.run`` in ``stance worker``)::

    async with build_feed_client(settings) as client:
        scheduler = FeedScheduler(
            FeedPoller(runtime.services, client, settings),
            interval_seconds=settings.scheduler_interval_seconds,
        )
        scheduler.start()
        ...
        await scheduler.stop()
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from service.feeds.poller import FeedPoller, PollReport

JOB_ID = "feeds.poll_due"

logger = logging.getLogger(__name__)


class FeedScheduler:
    """Runs the feed poll cycle every ``interval_seconds`` on the loop that calls ``start``."""

    def __init__(
        self,
        poller: FeedPoller,
        *,
        interval_seconds: float,
        misfire_grace_seconds: float | None = None,
        run_at_start: bool = True,
        is_leader: Callable[[], bool] | None = None,
    ) -> None:
        self.poller = poller
        # In a fleet only the scheduler leader runs the cycles (``service.leadership``); the
        # others keep their schedule and skip, so one takes over at once when it becomes leader.
        self._is_leader = is_leader
        self.skipped = 0
        self.interval_seconds = interval_seconds
        self._grace = max(1, round(misfire_grace_seconds or interval_seconds))
        self._run_at_start = run_at_start
        self._scheduler: AsyncIOScheduler | None = None
        self._current: asyncio.Task[object] | None = None
        self.cycles = 0
        self.last_reports: list[PollReport] = []

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def start(self) -> None:
        """Start on the running loop; the first cycle runs at once unless ``run_at_start=False``."""
        if self.running:
            return
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        scheduler.add_job(
            self._cycle,
            trigger=IntervalTrigger(seconds=self.interval_seconds, timezone=UTC),
            id=JOB_ID,
            name="poll the feeds that are due",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=self._grace,
            replace_existing=True,
            **({"next_run_time": datetime.now(UTC)} if self._run_at_start else {}),
        )
        scheduler.start()
        self._scheduler = scheduler
        self._loop = asyncio.get_running_loop()

    def run_soon(self) -> None:
        """Bring the next cycle forward to now (a new leader); callable from any thread."""
        scheduler, loop = self._scheduler, getattr(self, "_loop", None)
        if scheduler is None or loop is None or loop.is_closed():
            return

        def _now() -> None:
            job = scheduler.get_job(JOB_ID)
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

        with contextlib.suppress(RuntimeError):  # the loop closed in between
            loop.call_soon_threadsafe(_now)

    async def stop(self, *, timeout: float = 30.0) -> None:
        """No new cycles; wait up to ``timeout`` s for the one in flight, then cancel it.

        A cancelled cycle hands back the feeds it had not fetched yet; the rest finish in their
        worker threads or, at worst, wait for their lease to run out.
        """
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None or not scheduler.running:
            return
        scheduler.pause()
        current = self._current
        if current is not None and not current.done():
            await asyncio.wait({current}, timeout=timeout)
        # APScheduler 3 shuts down through loop.call_soon_threadsafe and cancels jobs still
        # running; yield once so that has happened when this returns.
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        if current is not None and not current.done():
            await asyncio.wait({current}, timeout=5)

    async def run_once(self) -> list[PollReport]:
        """One cycle now, outside the schedule (tests, ``stance feeds poll``)."""
        return await self.poller.poll_due()

    async def _cycle(self) -> None:
        if self._is_leader is not None and not self._is_leader():
            self.skipped += 1
            return
        self._current = asyncio.current_task()
        started = asyncio.get_running_loop().time()
        try:
            reports = await self.poller.poll_due()
        except Exception:
            # Logged, not raised: APScheduler would log it too, but without what the cycle was.
            logger.exception("feed poll cycle failed; the next runs in %s s", self.interval_seconds)
            return
        finally:
            self._current = None
        self.cycles += 1
        self.last_reports = reports
        if reports:
            elapsed = asyncio.get_running_loop().time() - started
            appended = sum(len(r.statements) for r in reports)
            failed = sum(r.outcome in ("error", "retry_later") for r in reports)
            logger.info(
                "polled %d feeds in %.1f s: %d statements, %d failures",
                len(reports),
                elapsed,
                appended,
                failed,
            )
