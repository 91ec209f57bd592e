"""A replay of the whole log into empty read models: the path of a rebuild and of a verify.

``StatementProjection`` serves any batch of events on top of whatever the tables hold, so it
loads what each batch touches, keeps every row as a dict and converts each value when it
writes. A replay from position 0 needs none of that: nothing is in the tables, everything it
knows is in memory, and each row is written once, already closed where the log closes it. This
module applies the events with the same rules (the same ``Timeline`` and segments, the same
versions and rectangle ids, the same stance changes), so its rows are exactly those incremental
updating writes, and builds each row straight as the driver's tuple: instants converted once each,
event ids and transaction times kept in the form the log was read in (``log_rows``).

The log is read in pages and applied in two passes (``Fold``): versions in log order as each
page is read, then, once per ``SETTLE_EVENTS`` statement events and at the end, every pair's
events one pair at a time. The rows closed are written after each settling (on SQLite sorted by
primary key, so each B-tree insert lands at the right-hand edge); the versions once the log is
read (indexed at once, while the second pass runs); the rectangles still open, the current
stances and the pairs at the end. A second process may fold a share of the pairs meanwhile:
started with the replay, reading the log itself (``fold_process``), or forked once the log is
read, settling its share of what this one read (``_fork_child``).
"""

import logging
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table

from service.domain.ids import uuid_from_int
from service.domain.upcasting import UpcasterRegistry
from service.projections import bulk, fold_process, forked
from service.projections.catalog import CATALOG_EVENTS, CatalogFold, CatalogProjection
from service.projections.forked import Forked
from service.projections.pairs import (
    CHANGE_COLUMNS,
    Pair,
    Timeline,
    current_after,
    stance_change,
    touched_pairs,
)
from service.projections.shares import EVERY_PAIR, NO_SPLIT, Share, ShareRows, Split, cut
from service.projections.statements import (
    STATEMENT_EVENTS,
    _next_version,
    _recorded_version,
    rectangle_id,
)
from service.store import interval_index, log_rows
from service.store.collector import paused_collector
from service.store.driver_sql import sqlite_time
from service.store.log_rows import LogRow
from service.store.log_sqlite import _parse_time
from service.store.read_model_tables import ReadModelTables
from service.store.records import RecordedEvent

log = logging.getLogger(__name__)

READ_BATCH = 20_000
"""Events per read of the log: the replay is one transaction, so a read only bounds memory."""
SETTLE_EVENTS = 250_000
"""Statement events whose versions are made before the pairs are brought up to date and their
rows written: the more of a pair's events one settling applies, the longer its timeline stays
in the processor's cache, and rows written in fewer, larger sorted runs build a tighter B-tree
(200,000 statements in one settling rather than ten: 12 s against 14 s for a SQLite rebuild).
Each pending event costs a version (kept anyway) and a few small tuples, some 200 bytes."""

_ID, _SOURCE, _STATED = " statement_id", " source", " stated_at"
"""Keys under which a version dict also holds its statement id, source and stated_at in driver
form, for its row and its rectangles' (``_next_version`` copies them on; a correction of the
source or the date converts it again)."""
_VERSION_COLUMNS = (
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
_INTERVAL_COLUMNS = (
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
_CURRENT_COLUMNS = (
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
_PAIR_COLUMNS = ("actor_id", "topic_id")

_version_row = itemgetter(
    *(
        {"statement_id": _ID, "source": _SOURCE, "stated_at": _STATED}.get(name, name)
        for name in _VERSION_COLUMNS
    )
)
"""A version's row: its values in ``_VERSION_COLUMNS`` order, those in driver form taken from
where the fold keeps them, fetched in one C call (a replay writes one per event)."""


def replay(
    connection: Connection,
    tables: ReadModelTables,
    upcasters: UpcasterRegistry,
    *,
    until: int | None = None,
    fresh: bool = False,
    split: Split = NO_SPLIT,
    loaded: Callable[[str], None] | None = None,
    kept: list[Any] | None = None,
) -> tuple[int, int]:
    """Apply the log up to position ``until`` (None: its end) to the empty ``tables``; returns
    how many events were read and the position of the last one (0 for none). ``fresh``: the
    tables were created in this transaction, so PostgreSQL may load them frozen. ``kept``:
    where to leave what the replay held (the fold and its rows), for a process that will
    leave without freeing them (``forked``). ``split``:
    when a second process folds a share of the pairs (``fold_process``, ``_fork_child``). If
    it fails, this process folds that share too, and says so in the log. ``loaded``: told the
    name of each table once all its rows are in (a rebuild indexes it then).

    The versions are all made once the log is read, before the second pass, so they are
    written then, and indexed at once: on PostgreSQL by a thread, while this one makes the
    segments (the thread mostly waits for the server, which does not hold the interpreter);
    on SQLite in turn, while a second process, if there is one, makes the segments of its
    share (the driver would take the interpreter back for every row, see ``_pages``)."""
    sqlite = connection.dialect.name == "sqlite"
    writer = _Writer(connection, tables, freeze=fresh and not sqlite, loaded=loaded)
    with paused_collector:
        # fixed before the log is read, so a second process reads the same events: positions
        # are given in commit order
        until = log_rows.last_position(connection) if until is None else until
        helper = fold_process.start(connection, upcasters, until=until, split=split)
        child: _Child | None = None
        try:
            own = EVERY_PAIR if helper is None else helper.others
            fold = Fold(DriverValues(sqlite), share=own)
            catalog = CatalogFold(tables)
            found = fold_log(
                connection, upcasters, fold, until=until, settled=writer.write, catalog=catalog
            )
            versions = fold.take_versions()
            if helper is None:
                child = _fork_child(connection, fold, until=until, split=split)
            mine = EVERY_PAIR if child is None else child.others
            if sqlite:
                writer.write_versions(versions)
                rest = fold.take_rest(mine)
            else:
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="versions") as loader:
                    written = loader.submit(writer.write_versions, versions)
                    rest = fold.take_rest(mine)
                    written.result()
            if helper is not None or child is not None:
                writer.write_ahead(rest)  # while the other process finishes its share
            theirs = None if helper is None else helper.result()
            if helper is not None and theirs is None:  # it failed and said why: fold it here
                theirs = ShareRows(fold_here(connection, upcasters, helper.share, until=until), {})
            if child is not None and (theirs := child.process.result()) is None:
                theirs = ShareRows(fold.take_rest(child.share), {})  # failed: settle it here
            writer.write(rest, theirs)
            catalog.write(connection)
            writer.finish()
            if kept is not None:
                kept.extend((fold, versions, rest, theirs, writer))
        finally:
            if helper is not None:
                helper.close()
            if child is not None:
                child.process.close()
    return found


@dataclass(frozen=True)
class _Child:
    """A forked child settling ``share``; the parent settles ``others``."""

    process: Forked[ShareRows]
    share: Share
    others: Share


def _fork_child(connection: Connection, fold: "Fold", *, until: int, split: Split) -> _Child | None:
    """A child forked now, once the log is read, to settle the pairs of ``split``'s second
    share and send their rows, when ``split`` asks for a forked process, the log is long
    enough, and a fork is safe here (``forked.may_fork``; where it is not, this process
    settles every pair, and says so). The child inherits the events read and the versions
    made, so it only settles; the COPY column types are read before the fork, as the child
    must send nothing on the connection it shares."""
    if not split.forked or not split.shares_out(until):
        return None
    if not forked.may_fork():
        log.info("no forked process (other threads run here): one process settles every pair")
        return None
    mine, theirs = cut(split.at)
    types = copy_types(connection)

    def settle_theirs() -> ShareRows:
        return share_rows(connection, fold.take_rest(theirs), types)

    slots = f"{theirs.low} to {theirs.high - 1}"
    try:
        process = forked.Forked(settle_theirs, name=f"settles the pairs of slots {slots}")
    except OSError as error:
        log.warning("no forked process (%r): one process settles every pair", error)
        return None
    log.info("a forked process settles the pairs of slots %s", slots)
    return _Child(process, theirs, mine)


def share_rows(connection: Connection, rows: "Rows", types: dict[str, list[int]]) -> ShareRows:
    """A share's rows as the process that writes them takes them, the versions aside (only
    that process's own fold makes them): on SQLite sorted by each table's key, so the writer
    merges two sorted runs; on PostgreSQL encoded here as binary COPY streams (``types``, from
    ``copy_types``), so the writer only sends them."""
    rows.pop("statement_versions", None)
    if connection.dialect.name == "sqlite":
        for name, found in rows.items():
            if (key := LAYOUT[name][1]) is not None:
                found.sort(key=key)
        return ShareRows(rows=cast(dict[str, list[Any]], rows), streams={})
    streams = {
        name: [bulk.copy_encoding(connection, LAYOUT[name][0], found, types=types[name])]
        for name, found in rows.items()
        if found
    }
    return ShareRows(rows={}, streams=streams)


def copy_types(connection: Connection) -> dict[str, list[int]]:
    """The type of each column ``LAYOUT`` writes, by table, as a binary COPY needs them
    (PostgreSQL; nothing on SQLite). The live tables' types: the shadows' are the same."""
    if connection.dialect.name == "sqlite":
        return {}
    return {
        name: bulk.column_types(connection, name, columns)
        for name, (columns, _key) in LAYOUT.items()
        if name != "statement_versions"
    }


def fold_log(
    connection: Connection,
    upcasters: UpcasterRegistry,
    fold: "Fold",
    *,
    until: int,
    settled: Callable[["Rows"], None],
    catalog: CatalogProjection | CatalogFold | None = None,
) -> tuple[int, int]:
    """Read the log up to ``until`` into ``fold`` (and ``catalog``, if given), handing the rows
    of each settling to ``settled`` but the last (``Fold.take_rest``); returns how many events
    were read and the position of the last one (0 for none)."""
    sqlite = connection.dialect.name == "sqlite"
    applied, position = 0, 0
    for events in _pages(connection, upcasters, until=until):
        if catalog is not None:
            catalog_events = [_recorded(e, sqlite) for e in events if e.type in CATALOG_EVENTS]
            if catalog_events:
                catalog.apply(connection, catalog_events)
        for event in events:
            if event.type in STATEMENT_EVENTS:
                fold.apply(event)
        if fold.pending >= SETTLE_EVENTS:
            settled(fold.take_finished())
        position = events[-1].position
        applied += len(events)
    return applied, position


def fold_here(
    connection: Connection,
    upcasters: UpcasterRegistry,
    share: Share,
    *,
    until: int,
    kept: list[Any] | None = None,
) -> "Rows":
    """What the second process of a split replay makes: the rows of ``share``'s pairs, the
    versions aside. A replay whose second process failed calls this itself. ``kept``: as
    ``replay``'s, where the fold is left."""
    fold = Fold(DriverValues(connection.dialect.name == "sqlite"), share=share, versions=False)
    rows = _no_rows()
    with paused_collector:
        fold_log(connection, upcasters, fold, until=until, settled=partial(_extend, rows))
        _extend(rows, fold.take_rest())
    if kept is not None:
        kept.append(fold)
    return rows


def _extend(rows: "Rows", more: "Rows") -> None:
    for name, found in more.items():
        rows[name].extend(found)


def _pages(
    connection: Connection, upcasters: UpcasterRegistry, *, until: int
) -> Iterator[list[LogRow]]:
    """The log up to ``until``, a page of ``READ_BATCH`` events at a time. On PostgreSQL the
    next page is read by a thread while the caller applies this one: the thread mostly waits
    for the server, which does not hold the interpreter, so the server's part of the read (a
    jsonb rendered as text per event, and the transfer) costs the replay nothing. psycopg
    serialises the connection's use, so the caller's own statements meanwhile simply wait.
    On SQLite the driver gives the interpreter up and takes it back for every row, which a
    busy thread beside it would make wait each time, so the pages are read in turn."""
    read = partial(log_rows.read, connection, upcasters, until=until, limit=READ_BATCH)
    if connection.dialect.name == "sqlite":
        page = read(after=0)
        while page:
            yield page
            page = read(after=page[-1].position)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-pages") as reader:
        page = read(after=0)
        while page:
            upcoming = reader.submit(read, after=page[-1].position)
            yield page
            page = upcoming.result()


def _recorded(event: LogRow, sqlite: bool) -> RecordedEvent:
    """The catalog projection's form of an event (catalog events are few)."""
    recorded_at = _parse_time(event.recorded_at) if sqlite else event.recorded_at
    event_id = log_rows.event_uuid(event.event_id)
    return RecordedEvent(
        event.position, event_id, "", 0, event.type, 1, event.data, {}, recorded_at
    )


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
        self._rows: Rows = _no_rows()

    def take_finished(self) -> Rows:
        """The rows closed since the last call."""
        self._settle()
        rows, self._rows = self._rows, _no_rows()
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
        rows, self._rows = self._rows, _no_rows()
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
            raise ValueError(f"{event.type} at {event.position}: no statement {statement_id}")
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


def _no_rows() -> Rows:
    return {
        "statement_versions": [],
        "stance_intervals": [],
        "stance_changes": [],
        "current_stances": [],
        "stance_pairs": [],
    }


class _Writer:
    """Writes the fold's rows to ``tables``; on SQLite each table's rows in primary-key order,
    so each B-tree insert lands at its right-hand edge (the rectangles, which have no key, in
    the order they were made, which their rowids follow). PostgreSQL's tables have no key yet
    while they are filled (``ReadModelTables.shadow``), and the server sorts when it builds it.
    ``loaded`` is told each table's name once its last rows are written (``finish``)."""

    def __init__(
        self,
        connection: Connection,
        tables: ReadModelTables,
        *,
        freeze: bool,
        loaded: Callable[[str], None] | None = None,
    ) -> None:
        self.connection = connection
        self.tables = tables
        self.freeze = freeze
        self.loaded = loaded
        self._finished: set[str] = set()
        self.written_ahead: list[list[tuple[Any, ...]]] = []
        """The rows ``write_ahead`` wrote."""

    def write(self, rows: Rows, theirs: ShareRows | None = None) -> None:
        """Write ``rows``, and the rows another process made for its share of the pairs
        (``fold_process``). Its rows join these before the sort, which merges the two sorted
        runs in one pass; its COPY streams are sent as they are."""
        sqlite = self.connection.dialect.name == "sqlite"
        for name, (columns, key) in LAYOUT.items():
            found = rows.get(name, [])
            if theirs is not None:
                found.extend(theirs.rows.get(name, ()))
            table: Table = getattr(self.tables, name)
            if found:
                if sqlite and key is not None:
                    found.sort(key=key)
                bulk.insert_tuples(self.connection, table, columns, found, freeze=self.freeze)
            if theirs is not None:
                for stream in theirs.streams.get(name, ()):
                    bulk.copy_stream(self.connection, table, columns, stream, freeze=self.freeze)

    def write_ahead(self, rows: Rows) -> None:
        """Write those of ``rows`` that need not wait for another process's share, and take
        them out of ``rows``: on PostgreSQL every table's (they have no key while they are
        filled), on SQLite the rectangles' (no key: they go in in the order they come). A
        SQLite table with a key waits, so the two shares' rows go in as one sorted run
        (``write``). The process whose share is done first writes its rows while the other
        still folds, rather than both shares after: at 200,000 statements this process's
        rectangles took 0.2 s to send to PostgreSQL and 0.3 s to insert on SQLite."""
        sqlite = self.connection.dialect.name == "sqlite"
        for name, (columns, key) in LAYOUT.items():
            found = rows.get(name)
            if not found or (sqlite and key is not None):
                continue
            table: Table = getattr(self.tables, name)
            bulk.insert_tuples(self.connection, table, columns, found, freeze=self.freeze)
            self.written_ahead.append(found)  # freed with the writer, not now
            rows[name] = []

    def write_versions(self, versions: list[tuple[Any, ...]]) -> None:
        """Write every version's row, and tell ``loaded``."""
        self.write({"statement_versions": versions})
        self._done("statement_versions")

    def finish(self) -> None:
        """Tell ``loaded`` of every table it has not been told of."""
        for each in fields(self.tables):
            self._done(each.name)

    def _done(self, name: str) -> None:
        if name not in self._finished:
            self._finished.add(name)
            if self.loaded is not None:
                self.loaded(name)


def _first_two(row: tuple[Any, ...]) -> tuple[Any, Any]:
    return row[0], row[1]


def _change_key(row: tuple[Any, ...]) -> tuple[Any, Any, Any]:
    return row[0], row[1], row[2]


Key = Callable[[tuple[Any, ...]], Any]

LAYOUT: dict[str, tuple[tuple[str, ...], Key | None]] = {
    "statement_versions": (
        _VERSION_COLUMNS,
        itemgetter(_VERSION_COLUMNS.index("caused_by_position")),
    ),
    "stance_intervals": (_INTERVAL_COLUMNS, None),
    "stance_changes": (CHANGE_COLUMNS, _change_key),
    "current_stances": (_CURRENT_COLUMNS, _first_two),
    "stance_pairs": (_PAIR_COLUMNS, _first_two),
}
"""Each table's columns, in the order the fold builds its tuples, and its primary key (None:
the table has none, and its rows go in as they were made; see ``STANCE_INTERVALS``). The
versions' key is the position that made them, so the fold makes them nearly in key order,
and a sort by it finds long runs already in place."""


def _statement_key(text: str) -> int:
    """A payload's statement id as the integer of its UUID; the canonical form (all the domain
    writes) without ``uuid.UUID``'s general parser."""
    if len(text) == 36 and text[8] == text[13] == text[18] == text[23] == "-":
        digits = text.replace("-", "")
        if digits.isalnum():
            return int(digits, 16)
    return uuid.UUID(text).int
