"""JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1) to feed items.

The spec requires every item to have an ``id``; items without one cannot be deduplicated, so they
are dropped (with a warning). Numeric ids are common in the wild and allowed by the spec's advice,
so they become strings ("42", not 42.0).
"""

from datetime import UTC, datetime
from typing import Any

from service.feeds.items import FeedError, ParsedFeed, RawItem, key_items
from service.feeds.text import html_to_text

VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")


def parse_json_feed(document: Any, *, max_items: int) -> ParsedFeed:
    """A decoded JSON Feed document as a ``ParsedFeed``; ``FeedError`` if it is not one."""
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise FeedError("JSON document is not a JSON Feed (no 'items' list)")
    warnings: list[str] = []
    if document.get("version") not in VERSIONS:
        warnings.append(f"unknown JSON Feed version {document.get('version')!r}; read as 1.1")
    raw_items: list[RawItem] = []
    for position, entry in enumerate(document["items"][:max_items]):
        if not isinstance(entry, dict):
            warnings.append(f"item {position}: not an object; dropped")
            continue
        guid = _id_text(entry.get("id"))
        if guid is None:
            warnings.append(f"item {position}: no id; dropped")
            continue
        raw_items.append(
            RawItem(
                guid=guid,
                link=_text(entry.get("url")) or _text(entry.get("external_url")),
                title=_text(entry.get("title")) or "",
                text=_content(entry),
                published_at=_date(entry.get("date_published"))
                or _date(entry.get("date_modified")),
                author=_author(entry) or _author(document),
            )
        )
    if len(document["items"]) > max_items:
        warnings.append(f"only the first {max_items} items were read")
    items, key_warnings = key_items(raw_items)
    return ParsedFeed(
        format="json-feed",
        title=_text(document.get("title")),
        items=tuple(items),
        warnings=tuple(warnings + key_warnings),
    )


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float | str):
        text = str(value).strip()
        return text or None
    return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _content(entry: dict[str, Any]) -> str:
    if html := _text(entry.get("content_html")):
        return html_to_text(html)
    return _text(entry.get("content_text")) or _text(entry.get("summary")) or ""


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _author(holder: dict[str, Any]) -> str | None:
    authors = holder.get("authors")
    if isinstance(authors, list):
        names = [a["name"].strip() for a in authors if isinstance(a, dict) and _text(a.get("name"))]
        if names:
            return ", ".join(names)
    author = holder.get("author")
    return _text(author.get("name")) if isinstance(author, dict) else None
