"""The catch-up loop: keeps the read models in step with events other processes append.

Writes made in this process already catch up right after their commit; the loop is for the rest.
It sleeps until poked (``wake``) or until its poll interval passes, so an idle service does not
query the database in a tight loop.
"""

import logging
import threading

from service.projections.runner import Projector

log = logging.getLogger(__name__)


class CatchUpLoop:
    """A daemon thread running ``projector.catch_up()`` when woken or every ``poll_seconds``."""

    def __init__(self, projector: Projector, *, poll_seconds: float = 1.0) -> None:
        self.projector = projector
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="projector-catch-up", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_until_stopped(self) -> None:
        """Run in the calling thread (``stance projections catch-up --follow``)."""
        self._run()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.projector.catch_up()
            except Exception:  # a database outage must not kill the loop; it retries
                log.exception("projector catch-up failed; retrying in %.1f s", self.poll_seconds)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
