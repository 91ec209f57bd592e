"""The read models' version: what a cached answer is keyed by, and when it stops being valid.

The read models move only when a projector commits a batch, and every such commit moves its
checkpoint row (position and ``updated_at``; a rebuild rewrites ``updated_at`` even where the
position stays). So the checkpoint rows, read in the same snapshot as a query, name exactly the
state the query saw: two answers to the same query under the same version are the same bytes.

``VersionSource`` keeps the last version it read and says when it must be read again:

* after ``mark_stale()``. This process's writes call it right after their projector catch-up, so
  a write answered here is visible to the very next read. A cross-process wake-up (PostgreSQL
  LISTEN/NOTIFY on the projector's commits) plugs in here too: call ``mark_stale()`` on each
  notification and other processes' writes are seen as soon as the notification arrives;
* once the version is ``max_age`` old (``STANCE_READ_MODEL_VERSION_MAX_AGE_MS``). That bounds how
  long a write by another process (another replica, ``stance worker``, the catch-up loop) can go
  unseen: a read that starts ``max_age`` after that process's projector committed sees it.
  ``peek`` says a refresh is due at half that age, so callers can read the version again in
  the background before anyone has to wait for it.

Reads of the database may finish out of order (threads): a version is only taken from a read
that started after the one the source holds, and it is only called fresh if no ``mark_stale``
came after that read started, so a slow read of an old version can never hide a newer one.
"""

import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy import Connection

from service.db import Database
from service.store.driver_sql import run
from service.store.tables import checkpoints_table

_MAIN_CHECKPOINT = "read_models"


class ReadModelVersion(NamedTuple):
    """``tag`` is equal for two snapshots exactly when no projector committed in between."""

    position: int
    """How far the read models have read the log (for logs and headers; ``tag`` decides)."""
    tag: str


_VERSION_SQL = f"SELECT name, position, updated_at FROM {checkpoints_table.name} ORDER BY name"


def read_version(connection: Connection) -> ReadModelVersion:
    """The version of the read models as seen by ``connection``'s current snapshot.

    Straight on the driver: it runs on every cache miss and every refresh, and through
    SQLAlchemy's statement machinery it cost more than the stance query it precedes. The time
    is only part of a tag, so it is taken as the driver gives it (text on SQLite)."""
    rows = run(connection, _VERSION_SQL, {})
    position = next((int(row[1]) for row in rows if row[0] == _MAIN_CHECKPOINT), 0)
    tag = ";".join(f"{name}={pos}@{updated}" for name, pos, updated in rows)
    return ReadModelVersion(position=position, tag=tag)


class _Known(NamedTuple):
    version: ReadModelVersion
    read_started_at: float
    stale_count: int
    """``VersionSource._stale_count`` when the read started; fresh while it is still equal."""


class VersionSource:
    """The last version read, re-read after ``mark_stale()`` or when ``max_age`` old.

    ``current()`` never touches the database (it is called on the event loop for every request);
    ``refresh()`` does, and belongs in a worker thread. Safe to share between threads.
    """

    def __init__(
        self,
        read: Callable[[], ReadModelVersion],
        *,
        max_age_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._stale_count = 0
        self._known: _Known | None = None

    @classmethod
    def for_database(
        cls,
        database: Database,
        *,
        max_age_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> "VersionSource":
        def read() -> ReadModelVersion:
            with database.read() as session:
                return read_version(session.connection())

        return cls(read, max_age_seconds=max_age_seconds, clock=clock)

    @property
    def stale_count(self) -> int:
        """Moves on every ``mark_stale``: a refresh started at an older count may be joined by
        nobody who came after it."""
        return self._stale_count

    def current(self) -> ReadModelVersion | None:
        """The version to serve now, or None when it must be read again (``refresh``)."""
        return self.peek()[0]

    def peek(self) -> tuple[ReadModelVersion | None, bool]:
        """The version to serve now (None: read it again first), and whether a refresh is due.

        A refresh falls due at half the max age, while the held version may still be served:
        a caller that starts one in the background keeps readers from ever waiting on the
        database, as long as one checkpoint read takes less than the other half."""
        known = self._known
        if known is None or known.stale_count != self._stale_count:
            return None, True
        age = self._clock() - known.read_started_at
        if age >= self._max_age:
            return None, True
        return known.version, age >= self._max_age / 2

    def refresh(self) -> ReadModelVersion:
        """Read the version from the database now; the newest version known afterwards."""
        stale_count, started_at = self._stale_count, self._clock()
        return self.observe(self._read(), read_started_at=started_at, stale_count=stale_count)

    def observe(
        self, version: ReadModelVersion, *, read_started_at: float, stale_count: int
    ) -> ReadModelVersion:
        """Offer a version some read saw (a refresh, or a cached query's own snapshot).

        Taken only when that read started after the one behind the version held now."""
        with self._lock:
            known = self._known
            if known is None or read_started_at >= known.read_started_at:
                self._known = known = _Known(version, read_started_at, stale_count)
            return known.version

    def now(self) -> float:
        """The source's clock, for callers that time a read to ``observe`` it."""
        return self._clock()

    def mark_stale(self, _position: int | None = None) -> None:
        """The read models may have moved: the next ``current()`` asks for a refresh.

        Takes (and ignores) a position, so it can sit in the command bus's ``after_write``."""
        with self._lock:
            self._stale_count += 1
