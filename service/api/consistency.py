"""Read-your-writes across replicas: a read may ask to see the read models at a position.

Every write answers with the position of its event. A client that then reads from another
replica (which may not have seen the write applied yet) sends that position back as
``min_position`` (query) or ``X-Min-Position`` (header); the read waits until the read models
have reached it, up to ``STANCE_MIN_POSITION_TIMEOUT_SECONDS``, and answers 503 with
``Retry-After`` if they have not, rather than a stale answer the client would take for current.

The wait is woken by ``Runtime.projected``: at once for this process's own writes, through the
listener for other processes' projections on PostgreSQL, and by a poll of the checkpoint every
``STANCE_MIN_POSITION_POLL_SECONDS`` as the fallback. Without a position a read never waits.
"""

import time
from typing import Annotated, Final

import anyio.to_thread
from fastapi import Depends, Header, Query

from service.api.deps import RuntimeDep
from service.api.openapi import problem_responses
from service.api.problems import ProblemError

MAX_POSITION: Final = 2**63 - 1

MIN_POSITION_PROBLEMS = problem_responses(503)
"""The answer of a read whose ``min_position`` the read models did not reach in time."""


class ReadModelsBehind(ProblemError):
    status = 503
    title = "Read models behind the requested position"
    slug = "read-models-behind"


async def wait_for_min_position(
    runtime: RuntimeDep,
    min_position: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_POSITION,
            description="Answer only once the read models include this position (a write's "
            "`position`); waits briefly, then 503 with Retry-After.",
        ),
    ] = None,
    x_min_position: Annotated[
        int | None,
        Header(ge=0, le=MAX_POSITION, description="The same as `min_position`, as a header."),
    ] = None,
) -> int | None:
    """Wait until the read models reached the larger of the two positions given, if any."""
    wanted = max((p for p in (min_position, x_min_position) if p is not None), default=None)
    if wanted is None:
        return None
    settings = runtime.settings
    deadline = time.monotonic() + settings.min_position_timeout_seconds
    while True:
        reached = await anyio.to_thread.run_sync(runtime.services.projector.position)
        if reached >= wanted:
            # The response cache may hold a version older than the one just seen (it re-reads
            # the version only every max_age when another process projected): look again, so
            # the answer is taken at the position the client asked for, not from before it.
            runtime.reads.version.mark_stale()
            return reached
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ReadModelsBehind(
                f"the read models are at position {reached}, not yet at {wanted}; retry shortly",
                headers={"Retry-After": "1"},
            )
        timeout = min(remaining, settings.min_position_poll_seconds)
        await runtime.projected.wait(after=reached, timeout=timeout)


MinPositionDep = Annotated[int | None, Depends(wait_for_min_position)]
"""Put in a read route's parameters: the read starts once the read models reached the position."""
