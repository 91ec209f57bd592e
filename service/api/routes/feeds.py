"""Feeds: add, list, read, delete (stop polling, keep history), poll now, resume.

A submitted URL is checked like a webhook's: http(s), a plain host, and every address it resolves
to public, unless ``STANCE_ALLOW_PRIVATE_URLS``; the poller's transport checks again at each
connection, since DNS answers change.

Poll now builds a ``FeedPoller`` per request on the runtime's services, with a feed client of its
own (closed with the request): a manual poll is rare, and its own client keeps the request
independent of the scheduler's. Two polls of one feed never overlap: the second gets a 409 while
the first (or the scheduler) holds the feed's lease.
"""

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from service.api.deps import ReaderDep, RuntimeDep, WriterDep
from service.api.feed_schemas import FeedIn, FeedOut, FeedPage, PollOut
from service.api.openapi import READ_PROBLEMS, WRITE_PROBLEMS, problem_responses
from service.api.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    InvalidCursor,
    Limit,
    decode_cursor,
    encode_cursor,
)
from service.api.problems import Conflict, FieldError, NotFound, ProblemError
from service.feeds.options import build_feed_client
from service.feeds.poller import FeedPoller
from service.feeds.registry import (
    FeedBusy,
    FeedDeleted,
    FeedNotFound,
    FeedRefused,
    FeedUrlTaken,
    add_feed,
    delete_feed,
    get_feed,
    list_feeds,
    resume_feed,
)
from service.net.url_guard import UnsafeUrl, check_destination

FeedId = Annotated[uuid.UUID, Path(description="The feed's id.")]
_ONE = {**READ_PROBLEMS, **problem_responses(404)}
_CHANGE = {**WRITE_PROBLEMS, **problem_responses(404, 409)}

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])


class UnusableUrl(ProblemError):
    status = 422
    title = "Unusable feed URL"
    slug = "unsafe-url"


@contextmanager
def _as_problems() -> Iterator[None]:
    """The registry's refusals as problems: unknown feed 404, anything else 409."""
    try:
        yield
    except FeedNotFound as error:
        raise NotFound(error.message) from None
    except (FeedDeleted, FeedBusy, FeedUrlTaken) as error:
        raise Conflict(error.message, slug=error.code) from None
    except FeedRefused as error:
        raise Conflict(error.message, slug=error.code) from None


def _interval(requested: int | None, *, low: int, high: int, default: int) -> int:
    interval = default if requested is None else requested
    if not low <= interval <= high:
        message = f"must be from {low} to {high} seconds"
        raise ProblemError(
            f"interval_seconds {message}",
            status=422,
            slug="validation-error",
            title="Request validation failed",
            errors=[FieldError(location="body", field="interval_seconds", message=message)],
        )
    return interval


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a feed to poll",
    response_model=FeedOut,
    responses={**WRITE_PROBLEMS, **problem_responses(409)},
)
async def add(body: FeedIn, runtime: RuntimeDep, principal: WriterDep) -> FeedOut:
    """Add a feed; it is due at once, then polled every `interval_seconds`."""
    settings = runtime.settings
    interval = _interval(
        body.interval_seconds,
        low=settings.feed_min_interval_seconds,
        high=settings.feed_max_interval_seconds,
        default=settings.feed_default_interval_seconds,
    )
    try:
        target = await check_destination(body.url, allow_private=settings.allow_private_urls)
    except (UnsafeUrl, OSError) as error:
        reason = (
            str(error) if isinstance(error, UnsafeUrl) else f"the host does not resolve: {error}"
        )
        raise UnusableUrl(
            reason, errors=[FieldError(location="body", field="url", message=reason)]
        ) from None
    with _as_problems():
        feed = await asyncio.to_thread(
            add_feed,
            runtime.database,
            url=target.url,
            kind=body.kind,
            interval_seconds=interval,
            name=body.name,
            created_by=principal.recorded_by,
            now=datetime.now(UTC),
        )
    return FeedOut.of(feed)


@router.get("", summary="List feeds", response_model=FeedPage, responses=READ_PROBLEMS)
def list_(
    runtime: RuntimeDep,
    _reader: ReaderDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    active: Annotated[
        bool | None, Query(description="true: only feeds not deleted; false: only deleted.")
    ] = None,
) -> FeedPage:
    """Feeds oldest first, each with the state of its polling."""
    after = None
    if cursor is not None:
        values = decode_cursor(cursor, kind="feeds")
        try:
            after = (datetime.fromisoformat(values["at"]), uuid.UUID(values["id"]))
        except (KeyError, TypeError, ValueError):
            raise InvalidCursor("damaged") from None
    found = list_feeds(runtime.database, after=after, limit=limit + 1, active=active)
    page, more = found[:limit], len(found) > limit
    next_cursor = (
        encode_cursor("feeds", {"at": page[-1].created_at.isoformat(), "id": str(page[-1].id)})
        if more
        else None
    )
    return FeedPage(items=[FeedOut.of(feed) for feed in page], next_cursor=next_cursor)


@router.get("/{feed_id}", summary="One feed", response_model=FeedOut, responses=_ONE)
def one(feed_id: FeedId, runtime: RuntimeDep, _reader: ReaderDep) -> FeedOut:
    feed = get_feed(runtime.database, feed_id)
    if feed is None:
        raise NotFound(f"no feed {feed_id}")
    return FeedOut.of(feed)


@router.delete(
    "/{feed_id}", summary="Stop polling a feed", response_model=FeedOut, responses=_CHANGE
)
def delete(feed_id: FeedId, runtime: RuntimeDep, _writer: WriterDep) -> FeedOut:
    """The feed is never polled again; it, its items and its statements stay on record."""
    with _as_problems():
        return FeedOut.of(delete_feed(runtime.database, feed_id))


@router.post(
    "/{feed_id}/resume", summary="Resume a paused feed", response_model=FeedOut, responses=_CHANGE
)
def resume(feed_id: FeedId, runtime: RuntimeDep, _writer: WriterDep) -> FeedOut:
    """Poll a paused (or stopped) feed again, at once, with its failure count reset."""
    with _as_problems():
        return FeedOut.of(resume_feed(runtime.database, feed_id, now=datetime.now(UTC)))


@router.post(
    "/{feed_id}/poll", summary="Poll a feed now", response_model=PollOut, responses=_CHANGE
)
async def poll(feed_id: FeedId, runtime: RuntimeDep, _writer: WriterDep) -> PollOut:
    """Poll now, due or not, and answer with what the poll found and the feed's new state.

    409 while the feed is being polled (by the scheduler or another request).
    """
    settings = runtime.settings
    async with build_feed_client(settings) as client:
        poller = FeedPoller(runtime.services, client, settings)
        with _as_problems():
            report = await poller.poll_feed(feed_id)
    feed = await asyncio.to_thread(get_feed, runtime.database, feed_id)
    if feed is None:
        raise NotFound(f"no feed {feed_id}")
    return PollOut.of(report, feed)
