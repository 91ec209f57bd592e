"""The delivery worker: sends what the outbox queued, retries on the policy's schedule.

One asyncio task keeps up to ``webhook_concurrency`` attempts in flight. Claiming, sending and
recording overlap: at most one claim and one recording transaction run at a time, each beside the
attempts in flight, and whatever queued up meanwhile goes into the next one. So under load a
claim fetches many deliveries (it waits until a quarter of the slots are free, unless none is
busy) and one transaction records every attempt that finished while the previous one ran,
instead of a transaction or two per message; when traffic is light each still goes at once.
A recorded result is not needed before the slot is reused: the row keeps its lease until then,
so nobody claims it twice.

The worker sleeps until an attempt or a transaction finishes, ``wake()`` is called (the
projector of this process queued something, a manual retry, the fleet's outbox signal), or
``webhook_poll_seconds`` pass (rows queued by other processes, retries coming due). A claim that
comes back with fewer rows than it asked for means the queue is empty for now: the next one
waits for such news rather than asking again after every finished attempt.

Database calls are blocking; they run in worker threads (``asyncio.to_thread``) so the event
loop, shared with the HTTP server in ``stance serve``, never waits on them. Outbound requests go
through the shared client, whose transport applies the URL guard at every connection.

Delivery is at least once: a lease that runs out (a killed worker, a result that could not be
recorded) sends the message again, with the same ``webhook-id`` so receivers can drop it.
"""

import asyncio
import collections
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from service.config import Settings
from service.db import Database
from service.net.transport import build_client
from service.threadsafe import call_in_loop
from service.webhooks.attempt import AttemptResult, FailureKind
from service.webhooks.deliveries import (
    ClaimedDelivery,
    FinishedAttempt,
    claim_due,
    record_attempts,
    release,
    settle_and_claim,
)
from service.webhooks.payload import message_id
from service.webhooks.policy import RetryPolicy
from service.webhooks.sender import USER_AGENT, send

log = logging.getLogger(__name__)

SETTLE_SECONDS = 0.05  # the longest a finished attempt waits to be recorded with others


def policy_from_settings(settings: Settings) -> RetryPolicy:
    """The retry schedule and endpoint-disabling rule the settings describe."""
    return RetryPolicy(
        delays=tuple(settings.webhook_retry_delays),
        jitter=settings.webhook_retry_jitter,
        throttle_floor_seconds=settings.webhook_throttle_seconds,
        disable_after=timedelta(days=settings.webhook_disable_after_days),
    )


def build_delivery_client(settings: Settings) -> httpx.AsyncClient:
    """An outbound client fit for deliveries, for processes that do not share one already.

    The pool holds a kept-alive connection for every attempt the worker may have in flight, so
    steady traffic to a subscriber reuses its connections instead of opening one per message.
    (httpcore closes an idle connection whenever the pool holds more connections in all than
    ``max_keepalive_connections``, idle or not; with fewer keep-alive slots than concurrent
    attempts, a busy pool closed and reopened connections all the time.)

    Its transport is the lean HTTP/1.1 one: a delivery is a small POST whose reply matters only for
    its status and a capped excerpt, and httpcore's general machinery was most of its CPU.
    """
    connections = max(settings.webhook_concurrency, 1)
    return build_client(
        allow_private=settings.allow_private_urls,
        user_agent=USER_AGENT,
        timeout=httpx.Timeout(settings.webhook_timeout_seconds),
        follow_redirects=False,
        max_redirects=0,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        lean=True,
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
        # Claimed deliveries wait in memory for a free slot, up to as many again as the slots:
        # a slot that frees up is reused at once, and a round claims many rows, not one. Rounds
        # claim again once fewer than half that many are left.
        self._refill = max(1, self._concurrency // 2)
        # One that waited longer than half the lease's slack over the timeout is not started: its
        # lease could run out before its timeout did, and another worker send it meanwhile.
        slack = settings.webhook_lease_seconds - settings.webhook_timeout_seconds
        self._lease_margin = slack / 2
        # Results are recorded once this many are in, or the oldest waited this long, or the
        # worker has nothing else in flight: one transaction for many results.
        self._settle_batch = self._concurrency
        self._settle_seconds = SETTLE_SECONDS
        self._poll_seconds = settings.webhook_poll_seconds
        self._progress = asyncio.Event()  # an attempt or a round finished, or a wake
        self._woken = False
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
        call_in_loop(self._loop, self._on_wake)

    def _on_wake(self) -> None:
        self._woken = True
        self._progress.set()

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
        loop = asyncio.get_running_loop()
        sending: dict[asyncio.Task[FinishedAttempt], ClaimedDelivery] = {}
        queued: collections.deque[tuple[float, ClaimedDelivery]] = collections.deque()
        finished: list[FinishedAttempt] = []
        finished_since = 0.0  # when the oldest of ``finished`` finished
        round_task: asyncio.Task[list[ClaimedDelivery]] | None = None
        asked = 0
        look = True  # something may be due: at the start, after a wake, a poll, a full claim
        looked_at = loop.time()

        def on_done(task: asyncio.Task[Any]) -> None:
            self._progress.set()

        try:
            while not self._stopping:
                self._progress.clear()
                if self._woken:
                    self._woken, look = False, True
                for task in [task for task in sending if task.done()]:
                    del sending[task]
                    if not finished:
                        finished_since = loop.time()
                    finished.append(task.result())
                if round_task is not None and round_task.done():
                    claimed = round_task.result()
                    round_task = None
                    now = loop.time()
                    queued.extend((now, delivery) for delivery in claimed)
                    look = look or len(claimed) >= asked  # a full batch: there may be more
                # Start what was claimed, while the lease leaves the attempt its whole timeout.
                while queued and len(sending) < self._concurrency:
                    claimed_at, delivery = queued.popleft()
                    if loop.time() - claimed_at > self._lease_margin:
                        continue  # its lease may run out mid-send; it is claimed again later
                    task = asyncio.create_task(self._attempt(delivery))
                    task.add_done_callback(on_done)
                    sending[task] = delivery
                now = loop.time()
                if now - looked_at >= self._poll_seconds:
                    look = True  # retries come due without anyone waking the worker
                held = len(sending) + len(queued)
                want = self._concurrency * 2 - held if look and len(queued) < self._refill else 0
                settle = bool(finished) and (
                    len(finished) >= self._settle_batch
                    or now - finished_since >= self._settle_seconds
                    or not sending
                )
                if round_task is None and (want > 0 or settle):
                    if want > 0:
                        look, looked_at = False, now
                    asked = max(want, 0)
                    round_task = asyncio.create_task(self._round(finished, asked))
                    round_task.add_done_callback(on_done)
                    finished = []
                timeout = self._poll_seconds - (now - looked_at)
                if finished and round_task is None:
                    timeout = min(timeout, self._settle_seconds - (now - finished_since))
                await self._sleep(max(timeout, 0.0))
        finally:
            late = [delivery for _, delivery in queued]
            if round_task is not None:
                late.extend(await round_task)
            await self._drain(sending, finished, late)

    async def _round(self, finished: list[FinishedAttempt], limit: int) -> list[ClaimedDelivery]:
        """Record what finished and claim up to ``limit`` more, in one transaction."""
        try:
            return await asyncio.to_thread(
                settle_and_claim,
                self.database,
                finished,
                policy=self.policy,
                limit=limit,
                now=datetime.now(UTC),
                lease=self._lease,
            )
        except Exception:
            # A database outage must not end the worker; the next round tries again. The
            # finished rows keep their leases and go out again when those run out: at least once.
            log.exception("recording %d webhook attempts and claiming failed", len(finished))
            return []

    async def _sleep(self, timeout: float) -> None:
        """Until an attempt or a round finishes, ``wake()`` is called, or ``timeout`` passes."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._progress.wait()

    def _claim_sync(self, limit: int) -> list[ClaimedDelivery]:
        return claim_due(self.database, limit=limit, now=datetime.now(UTC), lease=self._lease)

    async def _record(self, finished: list[FinishedAttempt]) -> None:
        if not finished:
            return
        try:
            await asyncio.to_thread(record_attempts, self.database, finished, policy=self.policy)
        except Exception:
            # The rows keep their leases and go out again when those run out: at least once.
            log.exception("recording %d webhook attempts failed", len(finished))

    async def _drain(
        self,
        sending: dict[asyncio.Task[FinishedAttempt], ClaimedDelivery],
        finished: list[FinishedAttempt],
        unsent: list[ClaimedDelivery],
    ) -> None:
        """Let attempts in flight finish (for the grace period), record them, give back the rest."""
        if sending:
            await asyncio.wait(sending, timeout=self._grace_seconds)
        unfinished = [task for task in sending if not task.done()]
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        finished = finished + [task.result() for task in sending if not task.cancelled()]
        await self._record(finished)
        cancelled = [*unsent, *(delivery for task, delivery in sending.items() if task.cancelled())]
        if not cancelled:
            return
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
