"""Helpers shared by the webhook routes: the URL check, keyset cursors, waking the worker."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Final, TypeVar

import anyio.to_thread
from fastapi import Path, Request
from sqlalchemy import Connection

from service.api.openapi import READ_PROBLEMS, WRITE_PROBLEMS, problem_responses
from service.api.pagination import InvalidCursor, decode_cursor, encode_cursor
from service.api.problems import FieldError, NotFound, ProblemError
from service.net.url_guard import UnsafeUrl, check_destination, check_url
from service.runtime import Runtime

RESOLVE_TIMEOUT_SECONDS: Final = 10.0

WebhookId = Annotated[uuid.UUID, Path(description="The subscription's id.")]
DeliveryId = Annotated[uuid.UUID, Path(description="The delivery's id.")]
WRITE: Final = {**WRITE_PROBLEMS, **problem_responses(400, 404, 409)}  # 400: malformed JSON
ONE: Final = {**READ_PROBLEMS, **problem_responses(404)}
LISTING: Final = {**READ_PROBLEMS, **problem_responses(400)}  # 400: a cursor not from here

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


def webhook_not_found(webhook_id: uuid.UUID) -> NotFound:
    return NotFound(f"no webhook {webhook_id}")


async def in_thread(runtime: Runtime, work: Callable[[Connection], T], *, write: bool) -> T:
    """Run ``work`` on a connection in a worker thread, from an async route: it blocks."""

    def run() -> T:
        sessions = runtime.database.write if write else runtime.database.read
        with sessions() as session:
            return work(session.connection())

    return await anyio.to_thread.run_sync(run)


async def checked_url(url: str, *, allow_private: bool) -> str:
    """The URL as it will be called, or a 422 problem on field ``url`` saying why not.

    Without the operator's leave for private addresses the host is resolved and every address
    must be public; with it only the syntax is checked (local receivers, tests).
    """
    try:
        if allow_private:
            return check_url(url).url
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            return (await check_destination(url, allow_private=False)).url
    except UnsafeUrl as exc:
        reason = str(exc)
    except TimeoutError:
        reason = "the host name did not resolve in time"
    except OSError as exc:
        reason = f"the host name does not resolve: {exc}"
    raise ProblemError(
        f"The webhook URL is refused: {reason}",
        status=422,
        title="Unacceptable webhook URL",
        slug="unsafe-url",
        errors=[FieldError(location="body", field="url", message=reason)],
    )


def keyset(cursor: str | None, kind: str) -> tuple[datetime, uuid.UUID] | None:
    """The (created_at, id) a listing of ``kind`` stopped at, from its opaque cursor."""
    if cursor is None:
        return None
    values = decode_cursor(cursor, kind=kind)
    try:
        return datetime.fromisoformat(values["t"]), uuid.UUID(values["id"])
    except (KeyError, TypeError, ValueError):
        raise InvalidCursor("damaged") from None


def next_cursor(kind: str, page: list[Any], more: bool) -> str | None:
    """The cursor after the last item of ``page`` (items with ``created_at`` and ``id``)."""
    if not more or not page:
        return None
    last = page[-1]
    return encode_cursor(kind, {"t": last.created_at.isoformat(), "id": str(last.id)})


def wake_worker(request: Request) -> None:
    """Have this process's delivery worker look for due deliveries now, if there is one.

    The lifespan registers it as ``app.state.webhook_worker``; without one, a worker's next poll
    (about a second) finds the delivery instead.
    """
    worker: Any = getattr(request.app.state, "webhook_worker", None)
    if worker is not None:
        worker.wake()
