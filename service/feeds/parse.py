"""Feed documents to items: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed by hand.

Ill-formed feeds are normal; feedparser recovers what it can and flags the document as "bozo",
which becomes a warning here rather than a failure. Two things are refused outright: XML that
declares entities (see ``safe_xml``) and a body that is neither XML nor a JSON Feed.

feedparser is always given a file object: handed ``bytes`` or ``str`` it first tries them as a URL
or a local file name, and a feed whose whole body is ``/etc/passwd`` must not be read from disk.
"""

import io
import json
import re
from calendar import timegm
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from service.feeds.items import FeedError, FeedItem, ParsedFeed, RawItem, key_items
from service.feeds.jsonfeed import parse_json_feed
from service.feeds.safe_xml import UnsafeXml, decode_document, prepare_untrusted_xml
from service.feeds.text import html_to_text

__all__ = ["FeedError", "FeedItem", "ParsedFeed", "UnsafeXml", "parse_feed"]

MAX_ITEMS = 500
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_JSON_TYPES = ("application/feed+json", "application/json")


def parse_feed(
    body: bytes,
    *,
    content_type: str | None = None,
    url: str | None = None,
    max_items: int = MAX_ITEMS,
) -> ParsedFeed:
    """Items of a news feed in document order; ``FeedError`` if the body is refused or no feed."""
    charset = _charset(content_type)
    if _looks_like_json(body, content_type, charset):
        try:
            document = json.loads(decode_document(body, charset=charset))
        except (ValueError, RecursionError) as exc:
            raise FeedError(f"invalid JSON: {exc}") from None
        return parse_json_feed(document, max_items=max_items)
    return _parse_xml(prepare_untrusted_xml(body, charset=charset), url=url, max_items=max_items)


def _parse_xml(safe_body: bytes, *, url: str | None, max_items: int) -> ParsedFeed:
    headers = {"content-type": "application/xml; charset=utf-8"}
    if url:
        headers["content-location"] = url
    result = feedparser.parse(
        io.BytesIO(safe_body),
        response_headers=headers,
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    warnings: list[str] = []
    if result.get("bozo"):
        warnings.append(f"ill-formed feed, read leniently: {result.get('bozo_exception')}")
    version = result.get("version") or ""
    if not version and not result.entries:
        raise FeedError("not an RSS, Atom or JSON feed")
    raw_items = [_raw_item(entry) for entry in result.entries[:max_items]]
    if len(result.entries) > max_items:
        warnings.append(f"only the first {max_items} items were read")
    items, key_warnings = key_items(raw_items)
    feed = result.get("feed", {})
    return ParsedFeed(
        format=version or "unknown",
        title=_clean(feed.get("title")),
        items=tuple(items),
        warnings=tuple(warnings + key_warnings),
        ttl=_ttl(feed.get("ttl")),
    )


def _raw_item(entry: Any) -> RawItem:
    return RawItem(
        guid=_clean(entry.get("id")),
        link=_clean(entry.get("link")),
        title=html_to_text(entry.get("title")) if entry.get("title") else "",
        text=_entry_text(entry),
        published_at=_when(entry.get("published_parsed") or entry.get("updated_parsed")),
        author=_clean(entry.get("author")),
    )


def _entry_text(entry: Any) -> str:
    """The fullest text the entry has: its content, else its summary, as plain text."""
    for content in entry.get("content") or ():
        value = content.get("value")
        if value:
            return value.strip() if content.get("type") == "text/plain" else html_to_text(value)
    summary = entry.get("summary")
    return html_to_text(summary) if summary else ""


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(timegm(parsed), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _ttl(value: Any) -> timedelta | None:
    """RSS <ttl> is in minutes; anything unreadable or non-positive is ignored."""
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return timedelta(minutes=minutes) if 0 < minutes <= 525_600 else None


def _clean(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _charset(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _looks_like_json(body: bytes, content_type: str | None, charset: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        return True
    start = decode_document(body[:64], charset=charset).lstrip("\ufeff \t\r\n")
    return start.startswith("{")
