"""``stance feeds add|list|poll|resume|delete``: the feeds to poll, from the command line.

``poll`` polls here and now, in this process, with the same poller the scheduler runs, and prints
what each feed gave. Exit codes: 0 done, 1 refused (bad URL or interval, unknown or deleted feed,
feed busy), 2 the database is unreachable or its schema not current.
"""

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from sqlalchemy.exc import SQLAlchemyError

from service.config import Settings, get_settings
from service.db import Database
from service.feeds.registry import (
    FeedKind,
    FeedRefused,
    FeedState,
    add_feed,
    delete_feed,
    list_feeds,
    resume_feed,
)
from service.store import migrate
from service.wiring import build_services

if TYPE_CHECKING:
    from service.feeds.poller import PollReport

feeds_app = typer.Typer(
    help="Add, list and poll the feeds statements arrive from.", no_args_is_help=True
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _database() -> Iterator[Database]:
    """The database at the current schema, disposed of afterwards; exit 2 if unusable."""
    database = Database.from_settings(get_settings())
    try:
        try:
            at_head = migrate.is_at_head(database.engine)
        except SQLAlchemyError as error:
            raise _fail(f"cannot reach the database: {type(error).__name__}", 2) from None
        if not at_head:
            raise _fail("the database schema is not current; run `stance migrate` first", 2)
        try:
            yield database
        except FeedRefused as error:
            raise _fail(error.message) from None
    finally:
        database.dispose()


def _feed_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a feed id (a UUID)") from None


def _status(feed: FeedState) -> str:
    if not feed.active:
        return "deleted"
    return "stopped" if feed.stopped else "paused" if feed.paused else "polling"


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


@feeds_app.command("add")
def add(
    url: str = typer.Argument(..., help="The feed's http(s) URL."),
    kind: FeedKind = typer.Option(FeedKind.NEWS, help="news: RSS/Atom/JSON Feed; statements."),
    interval: int | None = typer.Option(None, help="Seconds between polls (default: server's)."),
    name: str | None = typer.Option(None, help="A name; also the publisher of its sources."),
) -> None:
    """Add a feed; it is due at once (the next cycle of `stance serve` or `stance worker`)."""
    settings = get_settings()
    seconds = settings.feed_default_interval_seconds if interval is None else interval
    low, high = settings.feed_min_interval_seconds, settings.feed_max_interval_seconds
    if not low <= seconds <= high:
        raise _fail(f"--interval must be from {low} to {high} seconds")
    from service.net.url_guard import UnsafeUrl, check_destination  # httpx: see ``_poll``

    try:
        target = asyncio.run(check_destination(url, allow_private=settings.allow_private_urls))
    except UnsafeUrl as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _fail(f"the host does not resolve: {error}") from None
    with _database() as database:
        feed = add_feed(
            database,
            url=target.url,
            kind=kind,
            interval_seconds=seconds,
            name=name,
            created_by="cli",
            now=datetime.now(UTC),
        )
    typer.echo(f"added feed {feed.id} ({feed.kind}, every {feed.interval_seconds} s): {feed.url}")


@feeds_app.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="Include deleted feeds."),
) -> None:
    """Every feed: id, status, kind, last poll, next poll, failures, items, statements, URL."""
    with _database() as database:
        feeds = list_feeds(database, limit=100_000, active=None if all_ else True)
    for feed in feeds:
        columns = [
            str(feed.id),
            _status(feed),
            feed.kind,
            f"last {_when(feed.last_poll_at)} {feed.last_outcome or ''}".rstrip(),
            f"next {_when(feed.next_poll_at) if _status(feed) == 'polling' else '-'}",
            f"failures {feed.consecutive_failures}",
            f"items {feed.items_seen}",
            f"statements {feed.statements_produced}",
            feed.url,
        ]
        if feed.last_error:
            columns.append(f"error: {feed.last_error}")
        typer.echo("\t".join(columns))


@feeds_app.command("poll")
def poll(
    feed_id: str | None = typer.Argument(
        None, help="The feed to poll now, due or not; without it, every feed that is due."
    ),
) -> None:
    """Poll now and print what was found."""
    settings = get_settings()
    target = None if feed_id is None else _feed_id(feed_id)
    with _database() as database:
        reports = asyncio.run(_poll(settings, database, target))
    if not reports:
        typer.echo("no feed is due")
    for report in reports:
        _print_report(report)


async def _poll(
    settings: Settings, database: Database, feed_id: uuid.UUID | None
) -> list["PollReport"]:
    """The poller and its HTTP client are imported here, for ``poll`` alone: with httpx and
    its IDNA tables they cost every ``stance`` command 0.3 s to start."""
    from service.feeds.options import build_feed_client
    from service.feeds.poller import FeedPoller

    services = build_services(settings, database)
    async with build_feed_client(settings) as client:
        poller = FeedPoller(services, client, settings)
        return [await poller.poll_feed(feed_id)] if feed_id else await poller.poll_due()


def _print_report(report: "PollReport") -> None:
    status = f"HTTP {report.http_status}" if report.http_status else "no answer"
    typer.echo(
        f"{report.feed_id} {report.outcome} ({status}): {report.new_items} new items, "
        f"{len(report.statements)} statements; next poll {_when(report.next_poll_at)}"
        + (f" [{report.schedule_reason}]" if report.schedule_reason else "")
    )
    for found in report.statements:
        again = " (already recorded)" if found.duplicate else ""
        typer.echo(
            f"  {found.actor_id} {found.stance} on {found.topic_id} "
            f"(confidence {found.confidence:.2f}){again}: {found.item_link}"
        )
    if report.error:
        typer.echo(f"  error: {report.error}")
    for warning in report.warnings:
        typer.echo(f"  warning: {warning}")


@feeds_app.command("resume")
def resume(feed_id: str = typer.Argument(..., help="The paused or stopped feed.")) -> None:
    """Poll a paused or stopped feed again, from the next cycle."""
    with _database() as database:
        feed = resume_feed(database, _feed_id(feed_id), now=datetime.now(UTC))
    typer.echo(f"resumed feed {feed.id}: {feed.url}")


@feeds_app.command("delete")
def delete(feed_id: str = typer.Argument(..., help="The feed to stop polling.")) -> None:
    """Stop polling a feed for good; its items and statements stay on record."""
    with _database() as database:
        feed = delete_feed(database, _feed_id(feed_id))
    typer.echo(f"deleted feed {feed.id}: {feed.url}")
