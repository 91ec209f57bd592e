"""A replay of the whole log into empty read models: the path of a rebuild and of a verify.

The log is read in pages and applied in two passes (``fold.Fold``, which makes the rows by the
rules incremental updating follows): versions in log order as each page is read, then, once
per ``SETTLE_EVENTS`` statement events and at the end, every pair's events one pair at a time.
The rows closed are written after each settling (``writer.Writer``); the versions once the log
is read (indexed at once, while the second pass runs); the rectangles still open, the current
stances and the pairs at the end. A second process may fold a share of the pairs meanwhile:
started with the replay, reading the log itself (``fold_process``), or forked once the log is
read, settling its share of what this one read (``_fork_child``).
"""

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from sqlalchemy import Connection

from service.domain.upcasting import UpcasterRegistry
from service.projections import bulk, fold_process, forked
from service.projections.catalog import CATALOG_EVENTS, CatalogFold
from service.projections.fold import DriverValues, Fold, Rows, no_rows
from service.projections.forked import Forked
from service.projections.shares import EVERY_PAIR, NO_SPLIT, Share, ShareRows, Split, cut
from service.projections.statements import STATEMENT_EVENTS
from service.projections.writer import LAYOUT, Writer
from service.store import log_rows
from service.store.collector import paused_collector
from service.store.log_rows import LogRow
from service.store.log_sqlite import _parse_time
from service.store.read_model_tables import ReadModelTables
from service.store.records import RecordedEvent

__all__ = [
    "LAYOUT",
    "DriverValues",
    "Fold",
    "Rows",
    "fold_here",
    "fold_log",
    "replay",
    "share_rows",
]
"""What a replay's callers and its benchmark use, the fold's and the writer's parts included."""

log = logging.getLogger(__name__)

READ_BATCH = 20_000
"""Events per read of the log: the replay is one transaction, so a read only bounds memory."""
SETTLE_EVENTS = 250_000
"""Statement events whose versions are made before the pairs are brought up to date and their
rows written: the more of a pair's events one settling applies, the longer its timeline stays
in the processor's cache, and rows written in fewer, larger sorted runs build a tighter B-tree
(200,000 statements in one settling rather than ten: 12 s against 14 s for a SQLite rebuild).
Each pending event costs a version (kept anyway) and a few small tuples, some 200 bytes."""


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
    writer = Writer(connection, tables, freeze=fresh and not sqlite, loaded=loaded)
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
    catalog: CatalogFold | None = None,
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
                catalog.apply(catalog_events)
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
    rows = no_rows()
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
