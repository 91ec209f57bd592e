"""The long-lived objects one process shares, built by the lifespan and handed to routes."""

from dataclasses import dataclass, field

from service.auth.authenticator import ApiKeyAuthenticator
from service.config import Settings
from service.db import Database
from service.domain.events import UPCASTERS
from service.notifier import EventNotifier
from service.pg_listener import PgListener
from service.projections.runner import CHECKPOINT
from service.readcache import CachedReads, build_cached_reads
from service.signals import Purpose, parse_projected
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

    Writers call ``notifier.notify(position)`` after their commit so event streams wake at once;
    ``projected`` carries the position the read models reached, for reads that wait for it
    (``min_position``); ``reads.version.mark_stale()`` has cached answers checked against the
    read models again. On PostgreSQL the listener feeds all three from other processes too.
    """

    settings: Settings
    database: Database
    event_store: EventStore = field(default_factory=_event_store)
    notifier: EventNotifier = field(default_factory=EventNotifier)
    projected: EventNotifier = field(default_factory=EventNotifier)
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
        # is counted. The bus's first hook caught the read models up, so they are at the position.
        self.services.bus.after_write.extend(
            [
                self.reads.version.mark_stale,
                self.notifier.notify,
                self.projected.notify,
                _count_append,
            ]
        )

    def listen(self, listener: PgListener) -> None:
        """Feed what other processes do into this process's notifiers (PostgreSQL)."""
        listener.on(Purpose.EVENTS, lambda payload: _notify(self.notifier, payload))
        listener.on(Purpose.PROJECTED, self._on_projected)

    def _on_projected(self, payload: str) -> None:
        parsed = parse_projected(payload)
        # Another process moved a read model (or the listener reconnected): cached answers may be
        # stale now, well before their age bound says so.
        self.reads.version.mark_stale()
        if parsed is None:
            self.projected.poke()
        elif parsed[0] == CHECKPOINT:
            self.projected.notify(parsed[1])

    def begin_shutdown(self) -> None:
        """Ask long-running responses (event streams) to finish, so the server can stop."""
        self.notifier.close()
        self.projected.close()


def _notify(notifier: EventNotifier, payload: str) -> None:
    if payload.isdigit():
        notifier.notify(int(payload))
    else:
        notifier.poke()
