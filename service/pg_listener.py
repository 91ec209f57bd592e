"""The cross-process wake-up: one dedicated PostgreSQL connection that ``LISTEN``s.

Processes of a fleet learn of each other's work through it instead of polling tables: a new
event wakes the projector catch-up and the event streams, a moved checkpoint wakes the reads that
wait for their own write (``min_position``), queued deliveries wake the webhook worker. Handlers
are registered per purpose and run on the listener's thread, so they must only hand the news on
(``EventNotifier.notify``, ``DeliveryWorker.wake``), never block.

Notifications sent while the connection is down are lost, so after every (re)connection each
handler is called once with an empty payload ("something may have happened"); the receivers
then look at the tables, and their slow polls stay as the last fallback. A connection that dies
(a database restart) is replaced after ``reconnect_seconds``; a silent one is found out by a
``SELECT 1`` every ``keepalive_seconds``.
"""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from service.signals import Purpose, channel

log = logging.getLogger(__name__)

Handler = Callable[[str], None]
"""Called with the notification's payload, or ``""`` after a (re)connection."""


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no ``+psycopg``; query options kept)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgListener:
    """A daemon thread holding one connection that listens on the channels handlers want."""

    def __init__(
        self,
        database_url: str,
        *,
        reconnect_seconds: float = 1.0,
        keepalive_seconds: float = 5.0,
    ) -> None:
        self._conninfo = libpq_url(database_url)
        self._reconnect_seconds = reconnect_seconds
        self._keepalive_seconds = keepalive_seconds
        self._handlers: dict[Purpose, list[Handler]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self.connections = 0  # how many times it connected: 1 + reconnections

    def on(self, purpose: Purpose, handler: Handler) -> None:
        """Call ``handler`` for every notification of ``purpose``; register before ``start``."""
        self._handlers[purpose].append(handler)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def listening(self) -> bool:
        """True while the connection is up and subscribed."""
        connection = self._connection
        return connection is not None and not connection.closed

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    self._subscribe(conn)
                    self._receive(conn)
            except psycopg.Error as error:
                if not self._stop.is_set():
                    log.warning("listener connection lost (%s); reconnecting", error)
            finally:
                self._connection = None
            self._stop.wait(self._reconnect_seconds)

    def _subscribe(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        row = conn.execute("SELECT current_schema()").fetchone()
        schema = str(row[0]) if row else "public"
        self._channels = {channel(purpose, schema): purpose for purpose in self._handlers}
        for name in self._channels:
            conn.execute(f'LISTEN "{name}"')
        self._connection = conn
        self.connections += 1
        for purpose in self._handlers:
            self._dispatch(purpose, "")

    def _receive(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        checked = time.monotonic()
        while not self._stop.is_set():
            # Short waits, so ``stop`` is heard within a second.
            for notification in conn.notifies(timeout=1.0, stop_after=100):
                purpose = self._channels.get(notification.channel)
                if purpose is not None:
                    self._dispatch(purpose, notification.payload)
            if time.monotonic() - checked >= self._keepalive_seconds:
                conn.execute("SELECT 1")  # finds a connection the server dropped silently
                checked = time.monotonic()

    def _dispatch(self, purpose: Purpose, payload: str) -> None:
        for handler in self._handlers[purpose]:
            try:
                handler(payload)
            except Exception:  # one receiver's bug must not deafen the others
                log.exception("a %s signal handler failed", purpose.value)
