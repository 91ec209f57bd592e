"""The background work of a process: read-model catch-up, webhook deliveries, feed polling.

``stance serve`` runs it beside the API (unless ``--no-worker``); ``stance worker`` runs it
alone. Every piece is safe to run in several processes at once: projectors serialise on their
checkpoint, deliveries and feed polls are claimed with leases (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL).
"""

import asyncio
import logging

import httpx

from service.config import Settings
from service.feeds.options import build_feed_client
from service.feeds.poller import FeedPoller
from service.projections.loop import CatchUpLoop
from service.scheduler import FeedScheduler
from service.webhooks.worker import DeliveryWorker, build_delivery_client
from service.wiring import Services

log = logging.getLogger(__name__)


class BackgroundWork:
    """Starts and stops the background pieces together, on the running event loop."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self.services = services
        self.settings = settings
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
            poller, interval_seconds=self.settings.scheduler_interval_seconds
        )
        self.feeds.start()
        # A write in this process may have put deliveries in the outbox: send them at once.
        self.services.bus.after_write.append(self._wake_deliveries)

    def _wake_deliveries(self, _position: int) -> None:
        if self.deliveries is not None:
            self.deliveries.wake()

    async def stop(self) -> None:
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
