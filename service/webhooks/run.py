"""``python -m service.webhooks.run``: the delivery worker alone, until SIGINT or SIGTERM.

Settings come from the environment like every other entry point. The database must already be
migrated (``stance migrate``); this process only sends what the outbox holds.
"""

import asyncio
import logging
import signal

from service.config import Settings, get_settings
from service.db import Database
from service.webhooks.worker import DeliveryWorker, build_delivery_client

log = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    """Run a ``DeliveryWorker`` with its own client and engine until a stop signal arrives."""
    database = Database.from_settings(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with build_delivery_client(settings) as client:
            worker = DeliveryWorker(database, client, settings)
            await worker.start()
            log.info("webhook delivery worker started")
            try:
                await stop.wait()
            finally:
                await worker.stop()
    finally:
        database.dispose()


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(message)s")
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
