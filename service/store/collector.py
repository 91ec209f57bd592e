"""Decoding pages of the log with Python's cyclic garbage collector paused.

A page of 1,000 events allocates some 4,000 container objects (rows, events, UUIDs) that outlive
the first collections of the young generations, so they are promoted, and every few pages the
promotions trigger a full collection of the whole heap. On the read benchmark those full
collections took a third of the time of reading the log (0.22 s of 0.63 s for 66,000 events). The
objects a page holds cannot form reference cycles, so the collector has nothing to find in them:
pausing it while a page is built and resuming it after costs nothing it would have reclaimed.

The pause is process-wide (that is how ``gc`` works), so it is counted: threads that decode at the
same time share one pause, the collector resumes when the last of them is done, and only if it
was running before the first began. It is held for one page, or for the whole of a rebuild's
replay (``service.projections.rebuild``), whose rows and timelines are just such objects and
stay alive until it ends: there the collections cost a fifth of the replay.
"""

import gc
import threading
from types import TracebackType


class _PausedCollector:
    """A reentrant, thread-safe ``with`` block during which ``gc`` does not collect."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._holders += 1

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._resume:
                gc.enable()


paused_collector = _PausedCollector()
