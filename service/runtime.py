"""The long-lived objects one process shares, built by the lifespan and handed to routes."""

from dataclasses import dataclass, field

from service.auth.authenticator import ApiKeyAuthenticator
from service.config import Settings
from service.db import Database
from service.domain.events import UPCASTERS
from service.notifier import EventNotifier
from service.readcache import CachedReads, build_cached_reads
from service.store.event_store import EventStore
from service.wiring import Services, build_services


def _count_append(_position: int) -> None:
    from service.api.metrics import record_events_appended

    record_events_appended(1)


def _event_store() -> EventStore:
    return EventStore(UPCASTERS)


@dataclass
class Runtime:
    """Everything a request may need that outlives the request.

    Writers call ``notifier.notify(position)`` after their commit so event streams wake at once,
    and ``reads.version.mark_stale()`` so cached answers are checked against the read models.
    """

    settings: Settings
    database: Database
    event_store: EventStore = field(default_factory=_event_store)
    notifier: EventNotifier = field(default_factory=EventNotifier)
    api_keys: ApiKeyAuthenticator = field(init=False)
    services: Services = field(init=False)
    reads: CachedReads = field(init=False)

    def __post_init__(self) -> None:
        self.api_keys = ApiKeyAuthenticator(
            self.database, ttl_seconds=self.settings.api_key_cache_seconds
        )
        self.services = build_services(self.settings, self.database)
        self.event_store = self.services.store
        self.reads = build_cached_reads(self.settings, self.database)
        # After each committed write: the read models catch up (so the writer reads its write),
        # cached reads look at the read models' version again, event streams wake and the append
        # is counted.
        self.services.bus.after_write.extend(
            [self.reads.version.mark_stale, self.notifier.notify, _count_append]
        )

    def begin_shutdown(self) -> None:
        """Ask long-running responses (event streams) to finish, so the server can stop."""
        self.notifier.close()
