"""The ``statements`` feed kind: partners and analysts publish ready statements as JSON.

The document is ``{"statements": [...]}``, each entry in the API's own statement schema. Entries
are checked for shape here (a bad entry is skipped with a warning, the rest still count); the
domain's own rules (known actor and topic, quote length, dates) run when the command is handled.
An entry without ``statement_id`` gets a deterministic one from the feed and its content, so
polling the same document twice records nothing new.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

from service.domain.commands import RecordStatement
from service.domain.errors import DomainError
from service.domain.stances import parse_stance
from service.domain.values import RecordingMethod, Source, StatementKind
from service.feeds.items import FeedError, sha256_hex
from service.feeds.safe_xml import decode_document

FEED_STATEMENT_NAMESPACE = UUID("5b0f3c8e-7a51-4d0e-9c1e-2f6a9b7d4e10")
MAX_STATEMENTS = 1000


@dataclass(frozen=True)
class StatementEntry:
    guid_hash: str  # dedup key, as for news items
    command: RecordStatement


@dataclass(frozen=True)
class ParsedStatements:
    entries: tuple[StatementEntry, ...]
    warnings: tuple[str, ...] = ()


class _Invalid(ValueError):
    pass


def parse_statements(
    body: bytes, *, feed_id: str, charset: str | None = None, max_entries: int = MAX_STATEMENTS
) -> ParsedStatements:
    """Statement commands from a statements document; ``FeedError`` if it is not one at all."""
    try:
        document = json.loads(decode_document(body, charset=charset))
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"invalid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("statements"), list):
        raise FeedError("not a statements document (no 'statements' list)")
    entries: list[StatementEntry] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(document["statements"][:max_entries]):
        try:
            command = _command(raw, feed_id=feed_id)
        except (_Invalid, DomainError) as exc:
            warnings.append(f"statements[{position}]: {exc}; skipped")
            continue
        guid_hash = sha256_hex(f"statement:{command.statement_id}")
        if guid_hash in seen:
            warnings.append(f"statements[{position}]: repeated statement_id; skipped")
            continue
        seen.add(guid_hash)
        entries.append(StatementEntry(guid_hash=guid_hash, command=command))
    if len(document["statements"]) > max_entries:
        warnings.append(f"only the first {max_entries} statements were read")
    return ParsedStatements(entries=tuple(entries), warnings=tuple(warnings))


def _command(raw: Any, *, feed_id: str) -> RecordStatement:
    if not isinstance(raw, dict):
        raise _Invalid("not an object")
    source = raw.get("source")
    if not isinstance(source, dict):
        raise _Invalid("source must be an object with url, title and publisher")
    kind = _required(raw, "kind")
    if kind not in {member.value for member in StatementKind}:
        raise _Invalid(f"unknown kind {kind!r}")
    return RecordStatement(
        statement_id=_statement_id(raw, feed_id=feed_id),
        actor_id=_required(raw, "actor_id"),
        topic_id=_required(raw, "topic_id"),
        stance=parse_stance(_required(raw, "stance")),
        quote=_required(raw, "quote"),
        stated_at=_datetime(raw.get("stated_at"), "stated_at", required=True),
        kind=StatementKind(kind),
        source=Source(
            url=_required(source, "url", "source.url"),
            title=_required(source, "title", "source.title"),
            publisher=_required(source, "publisher", "source.publisher"),
            published_at=_datetime(source.get("published_at"), "source.published_at"),
        ),
        confidence=_confidence(raw.get("confidence", 1.0)),
        method=RecordingMethod.FEED,
    )


def _statement_id(raw: dict[str, Any], *, feed_id: str) -> UUID:
    given = raw.get("statement_id")
    if given is not None:
        try:
            return UUID(str(given))
        except ValueError:
            raise _Invalid(f"statement_id {given!r} is not a UUID") from None
    content = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return uuid5(FEED_STATEMENT_NAMESPACE, f"{feed_id}:{sha256_hex(content)}")


def _required(holder: dict[str, Any], key: str, name: str | None = None) -> str:
    value = holder.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"{name or key} must be a non-empty string")
    return value.strip()


def _datetime(value: Any, name: str, *, required: bool = False) -> Any:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _Invalid(f"{name} must be an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Invalid(f"{name} {value!r} is not an ISO 8601 date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _Invalid("confidence must be a number from 0 to 1")
    return float(value)
