"""Handing a callback to an event loop from whichever thread the caller runs on.

asyncio's primitives are not thread-safe, so a wake-up from a worker thread (a sync route, a
scheduler job, a database listener) must go through ``call_soon_threadsafe``; from the loop's own
thread the callback runs at once, which keeps a wake-up inside the loop synchronous and cheap.
"""

import asyncio
import contextlib
from collections.abc import Callable


def call_in_loop(loop: asyncio.AbstractEventLoop | None, callback: Callable[[], None]) -> None:
    """Run ``callback`` on ``loop``: now if this is its thread, else soon; nothing once the loop
    is gone (there is no one left to wake)."""
    if loop is None or loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        callback()
        return
    with contextlib.suppress(RuntimeError):  # the loop closed in between
        loop.call_soon_threadsafe(callback)
