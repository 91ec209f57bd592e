"""The background work of a process: read-model catch-up, webhook deliveries, feed polling.

``stance serve`` runs it beside the API (unless ``--no-worker``); ``stance worker`` runs it
alone. Every piece is safe to run in several processes at once: projectors serialise on their
checkpoint, deliveries and feed polls are claimed with leases (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), and the feed schedule runs only on the scheduler leader (``service.leadership``).

On PostgreSQL the pieces are woken by other processes' work through the listener
(``service.pg_listener``): new events wake the catch-up, queued deliveries wake the worker. Their
polls stay, slow, as the fallback.
"""

import asyncio
import logging

import httpx

from service.config import Settings
from service.feeds.options import build_feed_client
from service.feeds.poller import FeedPoller
from service.leadership import Leader, leader_for
from service.pg_listener import PgListener
from service.projections.loop import CatchUpLoop
from service.scheduler import FeedScheduler
from service.signals import Purpose
from service.webhooks.worker import DeliveryWorker, build_delivery_client
from service.wiring import Services

log = logging.getLogger(__name__)


class BackgroundWork:
    """Starts and stops the background pieces together, on the running event loop."""

    def __init__(
        self, services: Services, settings: Settings, *, listener: PgListener | None = None
    ) -> None:
        """``listener``: the process's own, when it has one already (``stance serve``); on
        PostgreSQL one is made otherwise (``stance worker``)."""
        self.services = services
        self.settings = settings
        self.leader: Leader = leader_for(
            settings.database_url,
            retry_seconds=settings.leader_retry_seconds,
            on_change=self._on_leadership,
        )
        self._own_listener = (
            listener is None and settings.pg_listen and not services.database.is_sqlite
        )
        self.listener = PgListener(settings.database_url) if self._own_listener else listener
        self.catch_up = CatchUpLoop(
            services.projector, poll_seconds=settings.projector_poll_seconds
        )
        self._clients: list[httpx.AsyncClient] = []
        self.deliveries: DeliveryWorker | None = None
        self.feeds: FeedScheduler | None = None

    async def start(self) -> None:
        self.catch_up.start()
        delivery_client = build_delivery_client(self.settings)
        feed_client = build_feed_client(self.settings)
        self._clients = [delivery_client, feed_client]
        self.deliveries = DeliveryWorker(self.services.database, delivery_client, self.settings)
        await self.deliveries.start()
        poller = FeedPoller(self.services, feed_client, self.settings)
        self.feeds = FeedScheduler(
            poller,
            interval_seconds=self.settings.scheduler_interval_seconds,
            is_leader=lambda: self.leader.is_leader,
        )
        self.feeds.start()
        # A write in this process may have put deliveries in the outbox: send them at once.
        self.services.bus.after_write.append(self._wake_deliveries)
        if self.listener is not None:
            self.listener.on(Purpose.EVENTS, lambda _payload: self.catch_up.wake())
            self.listener.on(Purpose.OUTBOX, lambda _payload: self._wake_deliveries(0))
            if self._own_listener:
                self.listener.start()
        self.leader.start()

    def _on_leadership(self, leading: bool) -> None:
        # A new leader polls what fell due while there was none, rather than at its next tick.
        if leading and self.feeds is not None:
            self.feeds.run_soon()

    def _wake_deliveries(self, _position: int) -> None:
        if self.deliveries is not None:
            self.deliveries.wake()

    async def stop(self) -> None:
        await asyncio.to_thread(self.leader.stop)
        if self._own_listener and self.listener is not None:
            await asyncio.to_thread(self.listener.stop)
        if self._wake_deliveries in self.services.bus.after_write:
            self.services.bus.after_write.remove(self._wake_deliveries)
        if self.feeds is not None:
            await self.feeds.stop()
        if self.deliveries is not None:
            await self.deliveries.stop()
        await asyncio.to_thread(self.catch_up.stop)
        for client in self._clients:
            await client.aclose()

    async def run_forever(self) -> None:
        """``stance worker``: start, then wait until cancelled (SIGINT/SIGTERM)."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()
