"""Another process that writes: ``python -m tests.fleet.writer_probe URL ACTION``.

``append`` appends one event straight to the log (the read models are left behind) and prints
its position; ``catch-up`` brings the read models up to the log and prints their position;
``outbox`` records a statement that a subscription wants (so the projector queues a delivery)
and prints how many deliveries are queued.
"""

import random
import sys
from datetime import UTC, datetime

from sqlalchemy import func, select

from service.config import Settings
from service.store.event_store import NewEvent
from service.store.webhook_tables import deliveries_table
from service.webhooks.subscriptions import create_subscription
from service.wiring import Services, build_services
from tests.fleet.kit import record_command, seed_catalog, statement_body


def main(url: str, action: str) -> None:
    services = build_services(Settings(database_url=url))
    try:
        if action == "append":
            with services.database.write() as session:
                result = services.store.append(
                    session,
                    stream_id="probe-1",
                    expected_version=None,
                    events=[NewEvent("ProbeHappened", {"from": "another process"})],
                )
            print(result.positions[-1], flush=True)
        elif action == "catch-up":
            services.projector.catch_up()
            print(services.projector.position(), flush=True)
        else:
            print(_queue_a_delivery(services), flush=True)
    finally:
        services.close()


def _queue_a_delivery(services: Services) -> int:
    seed_catalog(services.bus, actors=1, topics=1)
    with services.database.write() as session:
        create_subscription(
            session.connection(),
            url="https://subscriber.example.org/hook",
            description=None,
            actor_ids=None,
            topic_ids=None,
            flips_only=False,
            created_by="probe",
            now=datetime.now(UTC),
        )
    body = statement_body(random.Random(), actors=1, topics=1)
    services.bus.execute(record_command(body))  # the projector writes the outbox row
    with services.database.read() as session:
        return int(session.execute(select(func.count()).select_from(deliveries_table)).scalar())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
