"""A replay's fold of the statement events: their read models, in memory, as driver tuples.

``StatementProjection`` serves any batch of events on top of whatever the tables hold, so it
loads what each batch touches, keeps every row as a dict and converts each value when it
writes. A replay from position 0 needs none of that: nothing is in the tables, everything it
knows is in memory, and each row is made once, already closed where the log closes it. ``Fold``
applies the events with the same rules (the same ``Timeline`` and segments, the same versions
and rectangle ids, the same stance changes), so its rows are exactly those incremental updating
writes, and builds each row straight as the driver's tuple: instants converted once each, event
ids and transaction times kept in the form the log was read in (``log_rows``).
"""

import uuid
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson

from service.domain.ids import uuid_from_int
from service.projections import bulk
from service.projections.errors import LogNotReplayable
from service.projections.pairs import (
    Pair,
    Timeline,
    current_after,
    stance_change,
    touched_pairs,
)
from service.projections.shares import EVERY_PAIR, Share
from service.projections.statements import _next_version, _recorded_version, rectangle_id
from service.store import interval_index
from service.store.driver_sql import sqlite_time
from service.store.log_rows import LogRow

_ID, _SOURCE, _STATED = " statement_id", " source", " stated_at"
"""Keys under which a version dict also holds its statement id, source and stated_at in driver
form, for its row and its rectangles' (``_next_version`` copies them on; a correction of the
source or the date converts it again)."""
VERSION_COLUMNS = (
    "statement_id",
    "version_no",
    "actor_id",
    "topic_id",
    "stance",
    "score",
    "quote",
    "stated_at",
    "kind",
    "source",
    "confidence",
    "method",
    "status",
    "counts",
    "reason",
    "recorded_position",
    "recorded_at",
    "caused_by_position",
    "caused_by_type",
    "known_from",
    "known_until",
    "known_until_position",
)
INTERVAL_COLUMNS = (
    "interval_id",
    "actor_id",
    "topic_id",
    "valid_node",
    "valid_lo",
    "valid_hi",
    "known_from_position",
    "known_until_position",
    "version_position",
    "previous_stance",
)
CURRENT_COLUMNS = (
    "actor_id",
    "topic_id",
    "stance",
    "score",
    "since",
    "statement_id",
    "previous_stance",
    "flip",
    "changed_position",
    "updated_position",
)
PAIR_COLUMNS = ("actor_id", "topic_id")

_version_row = itemgetter(
    *(
        {"statement_id": _ID, "source": _SOURCE, "stated_at": _STATED}.get(name, name)
        for name in VERSION_COLUMNS
    )
)
"""A version's row: its values in ``VERSION_COLUMNS`` order, those in driver form taken from
where the fold keeps them, fetched in one C call (a replay writes one per event)."""


class _Times(dict[datetime | None, Any]):
    """Instants of valid time (stated_at) in the driver's form, each converted once; a lookup
    is a dict's, at C speed (a replay writes some six instants per statement). Transaction
    times need none: they come in the driver's form (``log_rows``)."""

    def __init__(self, sqlite: bool) -> None:
        super().__init__({None: None})
        self.sqlite = sqlite

    def __missing__(self, value: datetime) -> Any:
        converted = self[value] = sqlite_time(value) if self.sqlite else value
        return converted


class _Micros(dict[datetime, int]):
    """Instants as nodes of the interval tree (``interval_index.micros``), each converted once:
    a statement's stated_at bounds its own rectangles and those of the one ranked below it."""

    def __missing__(self, instant: datetime) -> int:
        converted = self[instant] = interval_index.micros(instant)
        return converted


class DriverValues:
    """The driver's form of the values the fold writes."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self.time = _Times(sqlite).__getitem__

    def stated(self, text: str, instant: datetime) -> Any:
        """A payload's stated_at (``text``, parsed as ``instant``) in the driver's form. On
        SQLite, from the text when the domain wrote it, in UTC (``sqlite_time`` of it is the
        same digits): nearly every statement has an instant of its own, so a cache would not
        spare the conversion."""
        if not self.sqlite:
            return instant
        if text[10:11] == "T" and text.endswith("+00:00"):
            if len(text) == _WHOLE_SECONDS:
                return f"{text[:10]} {text[11:19]}.000000"
            if len(text) == _MICROSECONDS and text[19] == ".":
                return f"{text[:10]} {text[11:26]}"
        return self.time(instant)

    def uuid(self, value: uuid.UUID | None) -> Any:
        if value is None or not self.sqlite:
            return value
        return value.hex

    def event_id(self, value: Any) -> Any:
        """An event id as ``log_rows`` reads it, in the driver's form: SQLite's hex text as it
        is; PostgreSQL's 16 bytes as a ``uuid.UUID``, made only for the few rows that name an
        event (the stance changes)."""
        return value if self.sqlite else uuid.UUID(bytes=value)

    def json(self, value: Any) -> Any:
        """JSON text on SQLite, which stores it so; on PostgreSQL a jsonb value for the binary
        COPY (``bulk.insert_tuples``), encoded as it is written."""
        if self.sqlite:
            return orjson.dumps(value).decode()
        return bulk.postgres_json(value)


_WHOLE_SECONDS = len("2022-05-16T10:00:00+00:00")
_MICROSECONDS = len("2022-05-16T10:00:00.000001+00:00")

Rows = dict[str, list[tuple[Any, ...]]]


class _Pair:
    """One pair's state in a replay: its timeline, the one tuple of the pair that keys its rows,
    and its open rectangles as rows still to be closed, by where their valid range starts."""

    __slots__ = ("key", "open_rows", "timeline")

    def __init__(self, key: Pair) -> None:
        self.key = key
        self.timeline = Timeline()
        self.open_rows: dict[datetime, list[Any]] = {}


Op = tuple[dict[str, Any] | None, dict[str, Any] | None, LogRow]
"""What an event does to one pair: the counting statement it loses and the one it gains (either
may be None), and the event (without its payload, ``_moment``)."""


class Fold:
    """The statement read models of a replay from position 0, in memory.

    Mirrors ``StatementProjection`` rule for rule (see there for the why of each); the
    differences are only in bookkeeping: nothing is ever loaded, a version or rectangle becomes
    a row when it closes (or at the end), and rows are driver tuples.

    Events are applied in two passes. The first, in log order as the log is read, makes the
    statements' versions and notes what each event does to each pair; the second, once per
    ``SETTLE_EVENTS`` statement events and at the end, applies those notes one pair at a time,
    in log order within the pair. Pairs are independent (an event touching two pairs is a loss
    for one and a gain for the other), so the rows are the same, while one pair's timeline
    stays in the processor's cache for all its events of the settling, instead of being fetched
    again for each. The commonest event, a statement recorded as counting, goes through
    ``Timeline.insert_newest``."""

    def __init__(
        self, values: DriverValues, *, share: Share = EVERY_PAIR, versions: bool = True
    ) -> None:
        """``share``: the pairs whose rows to make (the rest are another process's);
        ``versions``: whether to make the versions' rows too (the process that does not is
        another's helper)."""
        self.values = values
        self._share = share
        self._held: dict[Pair, bool] = {}
        self._versions = versions
        self._time = values.time
        self._stated = values.stated
        self._micros = _Micros().__getitem__
        self._strings: dict[str, str] = {}
        self._open: dict[int, dict[str, Any]] = {}
        """The open version of each statement, by the integer of its id: hashed and compared
        in C, where ``uuid.UUID`` does both in Python."""
        self._pairs: dict[Pair, _Pair] = {}
        self._ops: dict[Pair, list[Op]] = {}
        """What the events read since the last settling do to each pair, in log order."""
        self.pending = 0
        """Statement events applied since the last settling."""
        self._listed: set[Pair] = set()
        self._rows: Rows = no_rows()

    def take_finished(self) -> Rows:
        """The rows closed since the last call."""
        self._settle()
        rows, self._rows = self._rows, no_rows()
        return rows

    def take_versions(self) -> list[tuple[Any, ...]]:
        """The rows of every version not taken yet, the open ones included, once the log is
        read; the fold makes no more (its second pass needs none)."""
        versions = self._rows["statement_versions"]
        self._rows["statement_versions"] = []
        if self._versions:
            versions.extend(map(_version_row, self._open.values()))
        self._versions = False
        return versions

    def take_rest(self, share: Share = EVERY_PAIR) -> Rows:
        """Everything still open of ``share``'s pairs: the end of the replay (the versions only
        if not taken yet). The other pairs are left as they are, for another call: a share
        settled by a forked child (``_fork_child``) is settled here if the child fails."""
        self._settle(share)
        rows, self._rows = self._rows, no_rows()
        rows["statement_versions"].extend(self.take_versions())
        intervals, current = rows["stance_intervals"], rows["current_stances"]
        for state in self._pairs.values():
            if share.holds(state.key):
                intervals.extend(map(tuple, state.open_rows.values()))
                if (row := state.timeline.current) is not None:
                    current.append(self._current_row(state.key, row))
        rows["stance_pairs"].extend(filter(share.holds, self._listed))
        return rows

    # --- the first pass: versions, in log order ----------------------------------------

    def apply(self, event: LogRow) -> None:
        data = event.data
        self.pending += 1
        key = _statement_key(data["statement_id"])
        previous = self._open.get(key)
        if event.type == "StatementRecorded":
            if previous is not None:  # the stream's version 0 is unique; seen only on a replay
                return
            statement_id = uuid_from_int(key)
            version = _recorded_version(statement_id, data, event)  # type: ignore[arg-type]
            version[_ID] = self.values.uuid(statement_id)
            if self._versions:
                version[_SOURCE] = self.values.json(version["source"])
            version[_STATED] = self._stated(data["stated_at"], version["stated_at"])
            canon = self._strings.setdefault
            for name in ("actor_id", "topic_id", "stance", "kind", "method"):
                value = version[name]
                version[name] = canon(value, value)
            self._open[key] = version
            pair = (version["actor_id"], version["topic_id"])
            op = (None, version if version["counts"] else None, _moment(event))
            if (ops := self._ops.get(pair)) is not None:
                ops.append(op)
            elif self._holds(pair):
                self._ops[pair] = [op]
            return
        if previous is None:
            statement_id = uuid_from_int(key)
            raise LogNotReplayable(event.type, event.position, statement_id)
        version = _next_version(previous, event)  # type: ignore[arg-type]
        if self._versions and version["source"] is not previous["source"]:  # corrected
            version[_SOURCE] = self.values.json(version["source"])
        if version["stated_at"] is not previous["stated_at"]:  # corrected
            version[_STATED] = self._time(version["stated_at"])
        previous["known_until"] = event.recorded_at
        previous["known_until_position"] = event.position
        self._open[key] = version
        moment = _moment(event)
        for each, take, put in touched_pairs(previous, version):
            if self._holds(each):
                self._ops.setdefault(each, []).append((take, put, moment))
        if self._versions:
            self._rows["statement_versions"].append(_version_row(previous))

    def _holds(self, pair: Pair) -> bool:
        """Whether ``pair`` is in this fold's share; each pair's answer is kept."""
        held = self._held.get(pair)
        if held is None:
            held = self._held[pair] = self._share.holds(pair)
        return held

    # --- the second pass: one pair at a time ----------------------------------------------

    def _settle(self, share: Share = EVERY_PAIR) -> None:
        """Apply the pending ops of ``share``'s pairs; the others' stay pending."""
        self.pending = 0
        pairs, pending, self._ops = self._pairs, self._ops, {}
        for key, ops in pending.items():
            if not share.holds(key):
                self._ops[key] = ops
                continue
            state = pairs.get(key)
            if state is None:
                state = pairs[key] = _Pair(key)
            self._replay_pair(state, ops)

    def _replay_pair(self, state: _Pair, ops: list[Op]) -> None:
        """Apply one pair's ops: close the rectangles whose answer an event moved, open those
        that replace them, and keep its current stance."""
        pair, timeline, open_rows = state.key, state.timeline, state.open_rows
        finished = self._rows["stance_intervals"]
        micros = self._micros
        actor_id, topic_id = pair
        for removed, added, event in ops:
            position = event.position
            if removed is None and added is None:  # the statement does not count (yet)
                self._refresh_current(pair, timeline, event)
                continue
            closed, opened, top, _move = timeline.change(removed, added, position)
            for start in closed:
                row = open_rows.pop(start, None)
                if row is None or row[6] == position:
                    continue  # opened and closed by the same event: no state of knowledge saw it
                row[7] = position
                finished.append(tuple(row))
            for segment in opened:
                valid_from, valid_until, version, previous_stance = segment
                low = micros(valid_from)
                high = interval_index.OPEN_END if valid_until is None else micros(valid_until) - 1
                open_rows[valid_from] = [
                    rectangle_id(segment, low, high, position),
                    actor_id,
                    topic_id,
                    interval_index.fork(low, high),
                    low,
                    high,
                    position,
                    None,
                    version["caused_by_position"],
                    previous_stance,
                ]
            if top:
                self._refresh_current(pair, timeline, event)

    def _refresh_current(self, pair: Pair, state: Timeline, event: LogRow) -> None:
        update = current_after(state, event.position)
        if update is None:
            return
        row, moved = update
        if moved:
            self._record_change(pair, state.current, row, event)
        state.current = row
        self._listed.add(pair)

    def _record_change(
        self,
        pair: Pair,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        event: LogRow,
    ) -> None:
        row = stance_change(pair, before, after, event)
        values = self.values
        uuid_value, time = values.uuid, values.time
        self._rows["stance_changes"].append(
            (
                *row[:6],
                uuid_value(row[6]),
                uuid_value(row[7]),
                time(row[8]),
                row[9],
                values.event_id(row[10]),
                row[11],
            )
        )

    # --- rows ----------------------------------------------------------------------------

    def _current_row(self, pair: Pair, row: dict[str, Any]) -> tuple[Any, ...]:
        return (
            pair[0],
            pair[1],
            row["stance"],
            row["score"],
            self.values.time(row["since"]),
            self.values.uuid(row["statement_id"]),
            row["previous_stance"],
            row["flip"],
            row["changed_position"],
            row["updated_position"],
        )


def _moment(event: LogRow) -> LogRow:
    """The event without its payload, as the second pass needs it: a pending event keeps only
    what its rows name, not the payload read with it."""
    return _new_row(
        LogRow, (event.position, event.event_id, event.type, _NO_PAYLOAD, event.recorded_at)
    )


_new_row = tuple.__new__
_NO_PAYLOAD: dict[str, Any] = {}


def no_rows() -> Rows:
    return {
        "statement_versions": [],
        "stance_intervals": [],
        "stance_changes": [],
        "current_stances": [],
        "stance_pairs": [],
    }


def _statement_key(text: str) -> int:
    """A payload's statement id as the integer of its UUID; the canonical form (all the domain
    writes) without ``uuid.UUID``'s general parser."""
    if len(text) == 36 and text[8] == text[13] == text[18] == text[23] == "-":
        digits = text.replace("-", "")
        if digits.isalnum():
            return int(digits, 16)
    return uuid.UUID(text).int
