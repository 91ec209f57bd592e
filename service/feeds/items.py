"""Feed items as the rest of the service sees them, and the per-feed key that deduplicates them.

The key is a SHA-256 of the GUID, else the link, else title and text (each prefixed by what it
is, so a GUID that happens to equal another item's link is not confused with it). Publishers do
repeat GUIDs within one document (templates, copy-paste); a repeat with different content is a
different item and gets a key derived from its content, while an exact repeat is dropped.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta


class FeedError(ValueError):
    """The document cannot be read as a feed at all (refused, or not a feed of any kind)."""


@dataclass(frozen=True)
class FeedItem:
    guid_hash: str
    guid: str | None
    link: str | None
    title: str
    text: str  # summary or content as plain text, HTML stripped
    published_at: datetime | None
    author: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed document: its items in document order and what was wrong with it."""

    format: str
    title: str | None
    items: tuple[FeedItem, ...]
    warnings: tuple[str, ...] = ()
    ttl: timedelta | None = None  # RSS <ttl>: the publisher's own "do not poll sooner"


@dataclass(frozen=True)
class RawItem:
    """An item before keying: what a format-specific parser found."""

    guid: str | None
    link: str | None
    title: str
    text: str
    published_at: datetime | None
    author: str | None = None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def base_key(item: RawItem) -> str | None:
    """What identifies the item, before disambiguation; ``None`` for an item with nothing in it."""
    if item.guid and item.guid.strip():
        return "guid:" + item.guid.strip()
    if item.link and item.link.strip():
        return "link:" + item.link.strip()
    if item.title.strip() or item.text.strip():
        return "content:" + item.title.strip() + "\n" + item.text.strip()
    return None


def key_items(raw_items: list[RawItem]) -> tuple[list[FeedItem], list[str]]:
    """Items with their dedup keys, and warnings about dropped or disambiguated ones."""
    items: list[FeedItem] = []
    warnings: list[str] = []
    seen: set[str] = set()
    contents: dict[str, set[str]] = {}  # base key → content hashes of the items keyed by it
    for position, raw in enumerate(raw_items):
        key = base_key(raw)
        if key is None:
            warnings.append(f"item {position}: no GUID, link, title or text; dropped")
            continue
        content = sha256_hex(raw.title + "\n" + raw.text)
        digest = sha256_hex(key)
        if content in contents.get(key, set()):
            warnings.append(f"item {position}: exact duplicate of an earlier item; dropped")
            continue
        contents.setdefault(key, set()).add(content)
        if digest in seen:
            digest = sha256_hex(key + "\ncontent:" + content)
            warnings.append(f"item {position}: repeated identifier; keyed by its content")
        seen.add(digest)
        items.append(
            FeedItem(
                guid_hash=digest,
                guid=raw.guid,
                link=raw.link,
                title=raw.title,
                text=raw.text,
                published_at=raw.published_at,
                author=raw.author,
            )
        )
    return items, warnings
