"""Moving a whole log between databases: export as JSON Lines, import through the store's append.

One event per line, every column: ``position``, ``event_id``, ``stream_id``, ``version``,
``type``, ``schema_version``, ``data``, ``metadata``, ``recorded_at``. Payloads are exported as
stored, under their stored schema version, and imported so: upcasting stays the reader's job.

An import goes through ``EventStore.append`` event by event, with the expected version the file
says (version - 1), so it keeps stream ids, versions, event ids, types, schema versions, data and
metadata, refuses to interleave with a stream the target already has differently, and is
idempotent: an event id already stored with the same content is skipped. Positions are the
target's to assign; into an empty log they come out the same, as the source's are dense.

``recorded_at`` is kept, not replaced by the time of the import. It is the transaction time that
``known_at`` replays run on, so a new clock would make "what was known at K" answer differently
after a move, and the acceptance of a move is that every bitemporal answer is the same. The
store still never lets transaction time run backwards: importing into a log whose newest event is
later than an imported one records that newer time (the event cannot have been known here before
the log already held later ones), and the import reports how many times it had to.

The file is checked whole before anything is written, and the writing is one transaction, so a
bad line or a conflict imports nothing; the error names the line.
"""

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session

from service.store.event_store import (
    NO_STREAM,
    ConcurrencyError,
    EventIdConflict,
    EventStore,
    NewEvent,
    RecordedEvent,
)

_PAGE = 5000
_FIELDS = (
    "position",
    "event_id",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "data",
    "metadata",
    "recorded_at",
)


class LineError(Exception):
    """A line that cannot be imported; nothing was written. ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class MalformedLog(Exception):
    """The file failed its check; ``errors`` holds the first few, each naming its line."""

    def __init__(self, errors: list[LineError], *, more: int = 0) -> None:
        extra = f" (and {more} more)" if more else ""
        super().__init__("; ".join(str(e) for e in errors) + extra)
        self.errors = errors
        self.more = more


@dataclass(frozen=True)
class ImportReport:
    imported: int
    already_stored: int
    clamped_times: int
    last_position: int


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    event_id: uuid.UUID
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime


def export_lines(store: EventStore, session: Session, *, after: int = 0) -> Iterator[bytes]:
    """Every event after ``after``, one JSON line each (with its newline), in position order."""
    position = after
    while page := store.read_stored(session, after=position, limit=_PAGE):
        for event in page:
            yield _line(event)
        position = page[-1].position


def _line(event: RecordedEvent) -> bytes:
    record = {name: getattr(event, name) for name in _FIELDS}
    return orjson.dumps(record, option=orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE)


def check_lines(lines: Iterable[bytes], *, max_errors: int = 20) -> int:
    """Check a whole file without writing; returns the event count, raises ``MalformedLog``."""
    errors: list[LineError] = []
    more = 0
    count = 0
    seen: set[uuid.UUID] = set()
    versions: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = _parse(number, raw)
            if line.event_id in seen:
                raise LineError(number, f"event_id {line.event_id} appears twice in the file")
            previous = versions.get(line.stream_id)
            if previous is not None and line.version != previous + 1:
                raise LineError(
                    number,
                    f"stream {line.stream_id!r} jumps from version {previous} to {line.version}",
                )
        except LineError as error:
            if len(errors) < max_errors:
                errors.append(error)
            else:
                more += 1
            continue
        seen.add(line.event_id)
        versions[line.stream_id] = line.version
        count += 1
    if errors:
        raise MalformedLog(errors, more=more)
    return count


def import_lines(store: EventStore, session: Session, lines: Iterable[bytes]) -> ImportReport:
    """Append every line's event in the caller's transaction; raises ``LineError`` on a
    conflict with the target (the caller rolls back). Check the lines first (``check_lines``)."""
    imported = already = clamped = 0
    last_position = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        line = _parse(number, raw)
        event = NewEvent(
            line.type, line.data, line.event_id, line.metadata, schema_version=line.schema_version
        )
        expected = NO_STREAM if line.version == 0 else line.version - 1
        try:
            result = store.append(
                session,
                stream_id=line.stream_id,
                expected_version=expected,
                events=[event],
                recorded_at=line.recorded_at,
            )
        except ConcurrencyError as error:
            raise LineError(
                number,
                f"stream {line.stream_id!r} is at version {error.actual_version} here; the "
                f"file's event {line.event_id} would be version {line.version}",
            ) from error
        except EventIdConflict as error:
            raise LineError(number, str(error)) from error
        last_position = result.positions[0]
        if result.duplicate:
            already += 1
            continue
        imported += 1
        if result.recorded_at is not None and result.recorded_at != line.recorded_at:
            clamped += 1
    return ImportReport(imported, already, clamped, last_position)


def _parse(number: int, raw: bytes) -> _Line:
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise LineError(number, f"not JSON ({error})") from None
    if not isinstance(record, dict):
        raise LineError(number, "not a JSON object")
    missing = [name for name in _FIELDS if name != "position" and name not in record]
    if missing:
        raise LineError(number, f"missing {', '.join(missing)}")
    try:
        return _Line(
            number=number,
            event_id=_uuid(record, "event_id"),
            stream_id=_text(record, "stream_id", max_length=200),
            version=_integer(record, "version", minimum=0),
            type=_text(record, "type", max_length=100),
            schema_version=_integer(record, "schema_version", minimum=1),
            data=_object(record, "data"),
            metadata=_object(record, "metadata"),
            recorded_at=_time(record, "recorded_at"),
        )
    except (ValueError, TypeError) as error:
        raise LineError(number, str(error)) from None


def _text(record: dict[str, Any], name: str, *, max_length: int = 100) -> str:
    value = record[name]
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise ValueError(f"{name} must be a non-empty string of at most {max_length} characters")
    return value


def _uuid(record: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(_text(record, name))
    except ValueError:
        raise ValueError(f"{name} must be a UUID") from None


def _integer(record: dict[str, Any], name: str, *, minimum: int) -> int:
    value = record[name]
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value < 2**31:
        raise ValueError(f"{name} must be an integer from {minimum}")
    return value


def _object(record: dict[str, Any], name: str) -> dict[str, Any]:
    value = record[name]
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object")
    return value


def _time(record: dict[str, Any], name: str) -> datetime:
    value = record[name]
    if not isinstance(value, str):
        raise ValueError(f"{name} must be an ISO 8601 time with its UTC offset")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} must be an ISO 8601 time with its UTC offset") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{name} must carry its UTC offset")
    return parsed
