"""``GET /v1/events/stream``: the log live, as server-sent events.

Each event is one SSE message: ``id`` its position, ``event`` its type, ``data`` the event as
JSON (the shape of ``GET /v1/events`` items). A client that reconnects sends the last id it saw
as ``Last-Event-ID`` (browsers do this by themselves) and continues after it, missing nothing and
seeing nothing twice, because positions are dense and commit in order.

The loop reads a bounded batch, sends it, and when caught up sleeps until this process's writers
notify a new position (``EventNotifier``), the keep-alive comment is due, or the slow fallback
poll for other processes' appends fires. A failed read (the database restarting) is retried
after a poll; the client stays connected and misses nothing. It ends when the client disconnects
(Starlette cancels it) or the server shuts down (the notifier closes).
"""

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Final

import anyio
import anyio.to_thread
from fastapi import APIRouter, Header
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import StreamingResponse
from starlette.types import Send

from service.api.deps import ReaderDep, RuntimeDep
from service.api.metrics import EVENT_STREAMS_OPEN
from service.api.openapi import READ_PROBLEMS, problem_responses
from service.api.problems import BadRequest, FieldError
from service.api.routes.events import MAX_POSITION, After, Types
from service.api.schemas import EventOut
from service.runtime import Runtime
from service.store.event_store import RecordedEvent

BATCH_SIZE: Final = 200
RECONNECT_MILLISECONDS: Final = 2000

router = APIRouter(prefix="/v1/events", tags=["events"])
log = logging.getLogger(__name__)


class EventStreamResponse(StreamingResponse):
    """A streaming response that always closes its generator when it stops.

    On disconnect Starlette cancels the sending task; if the generator was paused at a ``yield``
    rather than an ``await`` it would only be finalised by the garbage collector, much later.
    """

    media_type = "text/event-stream"

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            if isinstance(self.body_iterator, AsyncGenerator):
                with anyio.CancelScope(shield=True):
                    await self.body_iterator.aclose()


_EXAMPLE = (
    "retry: 2000\n\n"
    'id: 42\nevent: ActorRegistered\ndata: {"position": 42, "event_id": "…", "type": '
    '"ActorRegistered", …}\n\n'
    ": keep-alive\n\n"
)


@router.get(
    "/stream",
    summary="Follow the event log live (server-sent events)",
    response_class=EventStreamResponse,
    responses={
        200: {
            "description": "An endless `text/event-stream`.",
            "content": {"text/event-stream": {"schema": {"type": "string"}, "example": _EXAMPLE}},
        },
        **problem_responses(400),
        **READ_PROBLEMS,
    },
)
async def stream_events(
    runtime: RuntimeDep,
    _reader: ReaderDep,
    after: After = 0,
    types: Types = None,
    last_event_id: Annotated[
        str | None,
        Header(
            max_length=32,
            description="The last `id` received; resumes after it and wins over `after`.",
        ),
    ] = None,
) -> EventStreamResponse:
    """Events after `Last-Event-ID` (or `after`), then new ones as they are appended."""
    start = after if last_event_id is None else _parse_last_event_id(last_event_id)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return EventStreamResponse(_messages(runtime, start, types), headers=headers)


def _parse_last_event_id(value: str) -> int:
    stripped = value.strip()
    if stripped.isdigit() and int(stripped) <= MAX_POSITION:
        return int(stripped)
    message = "must be the position of an event, an integer from 0"
    raise BadRequest(
        f"Last-Event-ID {message}",
        errors=[FieldError(location="header", field="Last-Event-ID", message=message)],
        title="Invalid Last-Event-ID",
        slug="invalid-last-event-id",
    )


async def _messages(runtime: Runtime, after: int, types: list[str] | None) -> AsyncIterator[str]:
    notifier = runtime.notifier
    keepalive = runtime.settings.sse_keepalive_seconds
    poll = runtime.settings.sse_poll_seconds
    cursor = after
    EVENT_STREAMS_OPEN.inc()
    try:
        yield f"retry: {RECONNECT_MILLISECONDS}\n\n"
        last_sent = time.monotonic()
        while not notifier.closed:
            known = notifier.position
            try:
                batch = await anyio.to_thread.run_sync(_read_batch, runtime, cursor, types)
            except SQLAlchemyError:
                # The database is away (a restart): keep the client, try again after a poll.
                log.warning("event stream read failed; retrying in %.1f s", poll, exc_info=True)
                await notifier.wait(after=MAX_POSITION, timeout=poll)
                continue
            for event in batch:
                yield _message(event)
            if batch:
                cursor = batch[-1].position
                last_sent = time.monotonic()
            if len(batch) == BATCH_SIZE:
                continue  # more may be waiting: read on before sleeping
            if time.monotonic() - last_sent >= keepalive:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            # Every event notified before the read was in it (or filtered out): wait for newer.
            timeout = min(poll, last_sent + keepalive - time.monotonic())
            await notifier.wait(after=max(cursor, known), timeout=max(timeout, 0.0))
    finally:
        EVENT_STREAMS_OPEN.dec()


def _read_batch(runtime: Runtime, after: int, types: list[str] | None) -> list[RecordedEvent]:
    with runtime.database.read() as session:
        return runtime.event_store.read_all(session, after=after, limit=BATCH_SIZE, types=types)


def _message(event: RecordedEvent) -> str:
    event_type = event.type.replace("\r", " ").replace("\n", " ")
    data = EventOut.from_recorded(event).model_dump_json()
    return f"id: {event.position}\nevent: {event_type}\ndata: {data}\n\n"
