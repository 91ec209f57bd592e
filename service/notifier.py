"""Wakes the readers of the log in this process when a writer in this process appends.

Writers call ``notify(position)`` after their transaction commits; event streams await
``wait(after=..., timeout=...)`` instead of polling the database in a loop. Events that other
processes append are not seen here, so readers still poll, slowly, when a wait times out.

``notify`` may be called from any thread (sync routes run in a thread pool, jobs in the scheduler's
threads): it records the position under a lock and hands the wake-up to the event loop with
``call_soon_threadsafe``, because asyncio primitives are not thread-safe themselves.
"""

import asyncio
import contextlib
import threading

from service.threadsafe import call_in_loop


class EventNotifier:
    """A broadcast of the last appended position, plus a ``close`` that ends every wait for good."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._position = 0
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()

    @property
    def position(self) -> int:
        """The highest position notified so far (0 before any)."""
        return self._position

    @property
    def closed(self) -> bool:
        """True once the process is shutting down: readers should finish and return."""
        return self._closed

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the loop the waiters run on (the lifespan does; the first wait also does)."""
        self._loop = loop

    def notify(self, position: int) -> None:
        """Tell readers that the log reached ``position``; callable from any thread."""
        with self._lock:
            if position <= self._position:
                return
            self._position = position
        self._schedule_wake()

    def poke(self) -> None:
        """Wake every waiter without a new position: something may have happened that was not
        notified (the listener reconnected after an outage), so they should look again."""
        self._schedule_wake()

    def close(self) -> None:
        """Wake every waiter and make all later waits return at once (server shutdown)."""
        self._closed = True
        self._schedule_wake()

    async def wait(self, *, after: int, timeout: float) -> None:
        """Return when a position beyond ``after`` is notified, on close, or after ``timeout``."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self._closed or self._position > after:
            return
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await changed.wait()

    def _schedule_wake(self) -> None:
        call_in_loop(self._loop, self._wake)

    def _wake(self) -> None:
        # Waiters hold the event they started on; set it and give later waiters a fresh one.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
