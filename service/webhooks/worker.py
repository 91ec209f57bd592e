"""The delivery worker: sends what the outbox queued, retries on the policy's schedule.

One asyncio task keeps up to ``webhook_concurrency`` attempts in flight: whenever slots are free
it claims that many due deliveries, and whenever attempts finish it records them, all of them in
one transaction. It sleeps until an attempt finishes, ``wake()`` is called (the projector of this
process queued something, or a manual retry), or ``webhook_poll_seconds`` pass (rows queued by
other processes, retries coming due).

Database calls are blocking; they run in worker threads (``asyncio.to_thread``) so the event
loop, shared with the HTTP server in ``stance serve``, never waits on them. Outbound requests go
through the shared client, whose transport applies the URL guard at every connection.

Delivery is at least once: a lease that runs out (a killed worker, a result that could not be
recorded) sends the message again, with the same ``webhook-id`` so receivers can drop it.
"""

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta

import httpx

from service.config import Settings
from service.db import Database
from service.net.transport import build_client
from service.webhooks.attempt import AttemptResult, FailureKind
from service.webhooks.deliveries import (
    ClaimedDelivery,
    FinishedAttempt,
    claim_due,
    record_attempts,
    release,
)
from service.webhooks.payload import message_id
from service.webhooks.policy import RetryPolicy
from service.webhooks.sender import USER_AGENT, send

log = logging.getLogger(__name__)


def policy_from_settings(settings: Settings) -> RetryPolicy:
    """The retry schedule and endpoint-disabling rule the settings describe."""
    return RetryPolicy(
        delays=tuple(settings.webhook_retry_delays),
        jitter=settings.webhook_retry_jitter,
        throttle_floor_seconds=settings.webhook_throttle_seconds,
        disable_after=timedelta(days=settings.webhook_disable_after_days),
    )


def build_delivery_client(settings: Settings) -> httpx.AsyncClient:
    """An outbound client fit for deliveries, for processes that do not share one already."""
    return build_client(
        allow_private=settings.allow_private_urls,
        user_agent=USER_AGENT,
        timeout=httpx.Timeout(settings.webhook_timeout_seconds),
        follow_redirects=False,
        max_redirects=0,
    )


class DeliveryWorker:
    """Claims due deliveries, sends them with ``client``, records every attempt.

    ``start()`` / ``stop()`` run it as a background task on the running loop; ``run_once()`` does
    a single claim-send-record round instead (tests, one-shot tools), not to be mixed with a
    started worker. ``wake()`` may be called from any thread.
    """

    def __init__(
        self,
        database: Database,
        client: httpx.AsyncClient,
        settings: Settings,
        *,
        policy: RetryPolicy | None = None,
    ) -> None:
        if settings.webhook_lease_seconds <= settings.webhook_timeout_seconds:
            raise ValueError("webhook_lease_seconds must be longer than webhook_timeout_seconds")
        self.database = database
        self.client = client
        self.policy = policy or policy_from_settings(settings)
        self._timeout = settings.webhook_timeout_seconds
        self._lease = timedelta(seconds=settings.webhook_lease_seconds)
        self._concurrency = settings.webhook_concurrency
        self._poll_seconds = settings.webhook_poll_seconds
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._grace_seconds = 5.0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the background task on the running loop."""
        if self.running:
            raise RuntimeError("the delivery worker is already running")
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="webhook-delivery-worker")

    async def stop(self, *, grace_seconds: float = 5.0) -> None:
        """Stop claiming; let attempts in flight finish for up to ``grace_seconds``.

        Attempts still running then are cancelled and their leases given back, so another worker
        (or this one, restarted) sends them at once rather than after the lease.
        """
        task = self._task
        if task is None:
            return
        self._grace_seconds = grace_seconds
        self._stopping = True
        self.wake()
        try:
            await task
        finally:
            self._task = None

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll; callable from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wakeup.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop closed in between
            loop.call_soon_threadsafe(self._wakeup.set)

    async def run_once(self) -> int:
        """Claim what is due (up to the concurrency), send it all, record it; how many were sent."""
        claimed = await asyncio.to_thread(self._claim_sync, self._concurrency)
        if not claimed:
            return 0
        finished = await asyncio.gather(*(self._attempt(delivery) for delivery in claimed))
        await asyncio.to_thread(record_attempts, self.database, finished, policy=self.policy)
        return len(finished)

    # --- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        in_flight: dict[asyncio.Task[FinishedAttempt], ClaimedDelivery] = {}
        try:
            while not self._stopping:
                self._wakeup.clear()
                free = self._concurrency - len(in_flight)
                if free > 0:
                    for delivery in await self._claim(free):
                        in_flight[asyncio.create_task(self._attempt(delivery))] = delivery
                await self._wait(in_flight)
                await self._record([task for task in in_flight if task.done()], in_flight)
        finally:
            await self._drain(in_flight)

    async def _claim(self, limit: int) -> list[ClaimedDelivery]:
        try:
            return await asyncio.to_thread(self._claim_sync, limit)
        except Exception:  # a database outage must not end the worker; the next poll retries
            log.exception("claiming webhook deliveries failed")
            return []

    def _claim_sync(self, limit: int) -> list[ClaimedDelivery]:
        return claim_due(self.database, limit=limit, now=datetime.now(UTC), lease=self._lease)

    async def _wait(self, in_flight: dict[asyncio.Task[FinishedAttempt], ClaimedDelivery]) -> None:
        waiter = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait(
                {waiter, *in_flight},
                timeout=self._poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waiter.cancel()

    async def _record(
        self,
        done: list[asyncio.Task[FinishedAttempt]],
        in_flight: dict[asyncio.Task[FinishedAttempt], ClaimedDelivery],
    ) -> None:
        if not done:
            return
        finished = [task.result() for task in done]
        for task in done:
            del in_flight[task]
        try:
            await asyncio.to_thread(record_attempts, self.database, finished, policy=self.policy)
        except Exception:
            # The rows keep their leases and go out again when those run out: at least once.
            log.exception("recording %d webhook attempts failed", len(finished))

    async def _drain(self, in_flight: dict[asyncio.Task[FinishedAttempt], ClaimedDelivery]) -> None:
        if not in_flight:
            return
        await asyncio.wait(in_flight, timeout=self._grace_seconds)
        unfinished = [task for task in in_flight if not task.done()]
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        cancelled = [in_flight.pop(task) for task in list(in_flight) if task.cancelled()]
        await self._record(list(in_flight), in_flight)
        try:
            await asyncio.to_thread(release, self.database, cancelled)
        except Exception:
            log.exception("giving back %d webhook delivery leases failed", len(cancelled))

    async def _attempt(self, delivery: ClaimedDelivery) -> FinishedAttempt:
        attempted_at = datetime.now(UTC)
        try:
            result = await send(
                self.client,
                url=delivery.url,
                secrets=delivery.secrets,
                msg_id=message_id(delivery.id),
                timestamp=int(time.time()),
                body=delivery.body,
                timeout=self._timeout,
            )
        except Exception as exc:  # send reports failures as results; this is a safety net
            log.exception("sending webhook delivery %s failed unexpectedly", delivery.id)
            result = AttemptResult(
                status_code=None,
                error=f"{type(exc).__name__}: {exc}",
                duration_ms=0,
                failure=FailureKind.NETWORK,
            )
        return FinishedAttempt(delivery, result, attempted_at, datetime.now(UTC))
