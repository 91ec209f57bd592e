"""Scheduler leadership: the periodic jobs of a fleet run in one process at a time.

On PostgreSQL the leader is the process holding a session advisory lock on a connection of its
own. The lock lives exactly as long as that connection: when the leader dies (even by SIGKILL) the
server ends its session and frees the lock, and the next follower to ask takes it, within
``retry_seconds``. Followers ask with ``pg_try_advisory_lock``, never a blocking wait, so a stuck
connection cannot hide a leader change. The leader checks its connection every
``check_seconds``; if it broke (a database restart), it stops leading at once, because the server
has already freed the lock for someone else.

The lock key is the pair (a constant for the service, a hash of the schema), so deployments in
separate schemas of one database each have their own leader. SQLite means one process: it always
leads (``AlwaysLeader``).

Leadership narrows who runs the jobs; it is not what makes them safe. A leader that loses its lock
in the middle of a cycle finishes the feeds it claimed, and the claims' leases keep a new leader
off those until then.
"""

import logging
import threading
from collections.abc import Callable
from typing import Protocol

import psycopg

from service.pg_listener import libpq_url

log = logging.getLogger(__name__)

LOCK_CLASS = 91759315  # the first half of the key: "this is the Stance scheduler"
_TRY_LOCK = "SELECT pg_try_advisory_lock(%s, hashtext('stance.leader.' || current_schema()))"


class Leader(Protocol):
    @property
    def is_leader(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class AlwaysLeader:
    """One process on SQLite: the lock is trivially held."""

    is_leader = True

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None


class AdvisoryLockLeader:
    """A daemon thread that takes the leader lock when it can and holds it while it lives."""

    def __init__(
        self,
        database_url: str,
        *,
        retry_seconds: float = 2.0,
        check_seconds: float = 1.0,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._conninfo = libpq_url(database_url)
        self._retry_seconds = retry_seconds
        self._check_seconds = check_seconds
        self._on_change = on_change
        self._leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.terms = 0  # how many times this process became leader

    @property
    def is_leader(self) -> bool:
        return self._leading

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scheduler-leader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._set(False)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    self._campaign(conn)
            except psycopg.Error as error:
                if self._leading:
                    log.warning("scheduler leadership lost with the connection (%s)", error)
            self._set(False)
            self._stop.wait(self._retry_seconds)

    def _campaign(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        """Ask until granted, then hold; returns only on stop, raises when the connection dies."""
        while not self._stop.is_set():
            row = conn.execute(_TRY_LOCK, (LOCK_CLASS,)).fetchone()
            if row and row[0]:
                break
            self._stop.wait(self._retry_seconds)
        else:
            return
        self.terms += 1
        self._set(True)
        log.info("this process now leads the scheduler")
        while not self._stop.wait(self._check_seconds):
            conn.execute("SELECT 1")
        # Stopping: closing the connection frees the lock for the next leader at once.

    def _set(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        if self._on_change is not None:
            self._on_change(leading)


def leader_for(
    database_url: str,
    *,
    retry_seconds: float = 2.0,
    on_change: Callable[[bool], None] | None = None,
) -> Leader:
    """The leadership a process on ``database_url`` should use."""
    if database_url.startswith("sqlite"):
        return AlwaysLeader()
    return AdvisoryLockLeader(database_url, retry_seconds=retry_seconds, on_change=on_change)
