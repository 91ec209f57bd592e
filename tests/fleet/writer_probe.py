"""Another process that writes: ``python -m tests.fleet.writer_probe URL append|catch-up``.

``append`` appends one event straight to the log (the read models are left behind) and prints
its position; ``catch-up`` brings the read models up to the log and prints their position.
"""

import sys

from service.config import Settings
from service.store.event_store import NewEvent
from service.wiring import build_services


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
        else:
            services.projector.catch_up()
            print(services.projector.position(), flush=True)
    finally:
        services.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
