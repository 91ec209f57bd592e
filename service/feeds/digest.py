"""From a fetched body to the statements its new items propose, for both kinds of feed.

Two steps, so the poller can ask the database which items it already holds in between and spend
extraction only on new ones: ``read_entries`` parses the document into keyed entries (refusing
unsafe or unreadable documents with ``FeedError``/``UnsafeXml``), ``propose`` turns one entry
into ``RecordStatement`` commands.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from service.domain.commands import RecordStatement
from service.feeds.catalog import ExtractionCatalog
from service.feeds.extract import extract_statements
from service.feeds.items import FeedError, FeedItem
from service.feeds.parse import parse_feed
from service.feeds.registry import FeedKind
from service.feeds.safe_xml import UnsafeXml
from service.feeds.statements import parse_statements

__all__ = ["Entries", "Entry", "FeedError", "UnsafeXml", "propose", "publisher_for", "read_entries"]

_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """One item of a document: a news item to extract from, or a ready statement."""

    guid_hash: str
    link: str | None
    title: str | None
    news: FeedItem | None = None
    statement: RecordStatement | None = None


@dataclass(frozen=True)
class Entries:
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...]
    title: str | None = None
    ttl: timedelta | None = None  # the document's own "do not poll sooner" (RSS <ttl>)


def read_entries(
    body: bytes, *, kind: str, content_type: str | None, url: str, feed_id: str
) -> Entries:
    """The document's entries in document order; raises ``FeedError`` or ``UnsafeXml``."""
    if FeedKind(kind) is FeedKind.STATEMENTS:
        match = _CHARSET.search(content_type or "")
        parsed = parse_statements(body, feed_id=feed_id, charset=match.group(1) if match else None)
        return Entries(
            entries=tuple(
                Entry(
                    guid_hash=entry.guid_hash,
                    link=entry.command.source.url,
                    title=entry.command.source.title,
                    statement=entry.command,
                )
                for entry in parsed.entries
            ),
            warnings=parsed.warnings,
        )
    feed = parse_feed(body, content_type=content_type, url=url)
    return Entries(
        entries=tuple(
            Entry(guid_hash=item.guid_hash, link=item.link, title=item.title or None, news=item)
            for item in feed.items
        ),
        warnings=feed.warnings,
        title=feed.title,
        ttl=feed.ttl,
    )


def propose(
    entry: Entry,
    *,
    catalog: ExtractionCatalog,
    feed_id: str,
    publisher: str,
    observed_at: datetime,
) -> tuple[RecordStatement, ...]:
    """The statements one entry reports: itself for a statements feed, else what extraction
    finds in the item (only actors and topics of ``catalog``)."""
    if entry.statement is not None:
        return (entry.statement,)
    assert entry.news is not None
    result = extract_statements(
        entry.news, catalog=catalog, feed_id=feed_id, publisher=publisher, observed_at=observed_at
    )
    return tuple(extraction.command for extraction in result.statements)


def publisher_for(name: str | None, title: str | None, url: str) -> str:
    """Who published an extracted statement's source: the feed's name, else the document's
    title, else the host it came from."""
    for candidate in (name, title):
        if candidate and candidate.strip():
            return candidate.strip()[:200]
    try:
        return httpx.URL(url).host or url[:200]
    except httpx.InvalidURL:
        return url[:200]
