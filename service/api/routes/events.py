"""``GET /v1/events``: the raw log, a page at a time, for consumers and replication."""

from typing import Annotated, Final

from fastapi import APIRouter, Query
from pydantic import StringConstraints

from service.api.deps import ReaderDep, RuntimeDep
from service.api.openapi import READ_PROBLEMS
from service.api.pagination import DEFAULT_LIMIT, MAX_EVENTS_LIMIT
from service.api.schemas import EventOut, EventPage

MAX_POSITION: Final = 2**63 - 1
"""Positions are 64-bit on both backends; larger numbers would overflow the driver, not match."""

EventType = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.:-]*$", max_length=100)]

After = Annotated[
    int,
    Query(ge=0, le=MAX_POSITION, description="Events after this position (0: from the start)."),
]
Types = Annotated[
    list[EventType] | None,
    Query(
        alias="type",
        max_length=50,
        description="Only events of these types; repeat the parameter for several.",
    ),
]

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.get(
    "",
    summary="Page through the event log",
    response_model=EventPage,
    responses=READ_PROBLEMS,
)
def list_events(
    runtime: RuntimeDep,
    _reader: ReaderDep,
    after: After = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_EVENTS_LIMIT, description=f"1 to {MAX_EVENTS_LIMIT}.")
    ] = DEFAULT_LIMIT,
    types: Types = None,
) -> EventPage:
    """Events with position greater than `after`, oldest first.

    A full page has `next_after` set: pass it as `after` to continue. A page that reached the end
    of the log has `next_after` null; poll later from the last position you saw, or follow
    `/v1/events/stream` to be told at once.
    """
    with runtime.database.read() as session:
        events = runtime.event_store.read_all(session, after=after, limit=limit + 1, types=types)
    more = len(events) > limit
    page = events[:limit]
    return EventPage(
        events=[EventOut.from_recorded(event) for event in page],
        next_after=page[-1].position if more else None,
    )
