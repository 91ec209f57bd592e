"""The projector: reads the log from its checkpoint and keeps the read models in step.

Each batch is one transaction that applies the events to every read model and moves the
checkpoint, so a crash at any instant leaves tables and checkpoint consistent, and a restart
resumes without applying anything twice. The same code serves the in-process catch-up after each
write and the catch-up loop for events written by other processes. A rebuild from position 0, and
``verify``, replay the log with ``rebuild.replay`` instead, which applies the same rules to
empty tables entirely in memory and writes the same rows.
"""

import gc
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Index, select
from sqlmodel import Session

from service.db import Database, in_memory
from service.projections import checkpoints, forked, rebuild, rebuild_settings
from service.projections.catalog import CatalogProjection
from service.projections.errors import LogNotReplayable
from service.projections.shares import Split
from service.projections.statements import StatementProjection
from service.store.event_store import EventStore, RecordedEvent
from service.store.read_model_tables import ReadModelTables

log = logging.getLogger(__name__)

CHECKPOINT = "read_models"
SQLITE_SPLIT = Split(processes=min(2, os.cpu_count() or 1), from_events=50_000, at=512)
"""How a SQLite rebuild or verify deals out its pairs unless told otherwise: from 50,000 events,
with a second core, a second process folds half of them (``fold_process``) while this one
writes the versions and folds the rest (on 200,000 statements, 15.8 s before, 12.4 to 12.9 s
after; at 50,000 events, 3.6 to 3.8 s against 3.9 to 4.7 s). Below that, the second
interpreter's start, about a second, is a growing part of the whole, so it is not tried. It
had 56% while this process wrote every rectangle after its rows arrived; this one now
inserts its own while the other finishes (``Writer.write_ahead``), and at 56% still waited
0.5 s for the other's rows, about as long as at half (most of it taking them off the pipe).

A forked process measured no faster on SQLite (8.3 s against 7.8 to 8.4): its child's pages,
shared until either side writes to them, are copied as the parent writes the versions, which
made that write 1.5 s instead of 1.15. The process started afresh reads the log on the second
core while this one does, which costs nothing here."""
POSTGRES_SPLIT = Split(
    processes=min(2, os.cpu_count() or 1), from_events=50_000, at=512, forked=True
)
"""How a PostgreSQL rebuild or verify deals out its pairs unless told otherwise: once the log
is read, a child forked then settles half of them (``rebuild._fork_child``) while this process
sends the versions and settles the rest. A process started afresh measured no faster here
(10.6 to 12.8 s against 10.8 to 11.0 s): it reads and decodes the log again, while the server
already takes the second core to render it. The forked child reads nothing: it inherits the
events read and the versions made (200,000 statements: 6.68 to 6.94 s against 7.17 to 7.24 s
in one process, alternating on one database). The child also encodes its rows for COPY, and
this process sends its own as soon as its share is settled (``Writer.write_ahead``): which
of the two finishes last at an even cut changed from run to run, and with 544 of the 1,024
slots here this process finished last, by up to 0.9 s, in a slow sitting. In a process with
other threads (the server's projector) no fork is safe, and one process settles every pair."""

Done = TypeVar("Done")
"""What a rebuild or verify returns, from a child or from this process."""

ChangeHook = Callable[[Connection, Sequence[dict[str, Any]]], None]
"""Called inside the batch's transaction with the stance changes it caused (the outbox)."""


class _Projections:
    """The projections of one transaction; what they loaded stays valid until it ends."""

    def __init__(self, tables: ReadModelTables) -> None:
        self.catalog = CatalogProjection(tables)
        self.statements = StatementProjection(tables)


@dataclass(frozen=True)
class Difference:
    table: str
    only_live: int
    only_rebuilt: int
    example: str


class Projector:
    """Applies the log to the read models; any number may run, one writes at a time."""

    def __init__(
        self,
        database: Database,
        store: EventStore,
        *,
        batch_size: int = 2000,
        change_hooks: Sequence[ChangeHook] = (),
        rebuild_split: Split | None = None,
        replay_in_child: bool = True,
    ) -> None:
        """``rebuild_split``: how a rebuild or verify deals its pairs out to processes; None
        for the backend's own way (``SQLITE_SPLIT``, ``POSTGRES_SPLIT``).
        ``replay_in_child``: whether a rebuild or verify runs in a child forked for it where a
        fork is safe (``rebuild``)."""
        self.database = database
        self.rebuild_split = rebuild_split
        self.replay_in_child = replay_in_child
        self.store = store
        self.batch_size = batch_size
        self.change_hooks = list(change_hooks)
        self._marker_checked = False

    def position(self) -> int:
        """How far the read models have read the log."""
        with self.database.read() as session:
            return checkpoints.read(session.connection(), CHECKPOINT)

    def lag(self) -> int:
        """Events in the log the read models have not applied yet."""
        with self.database.read() as session:
            done = checkpoints.read(session.connection(), CHECKPOINT)
            return max(0, self.store.last_position(session) - done)

    def catch_up(self, *, max_batches: int | None = None) -> int:
        """Apply every event not applied yet, a batch per transaction; returns how many.

        The first call in a process also looks for the mark an upgrade leaves when a new read
        model needs the stored history (``checkpoints.REBUILD_MARKER``), and rebuilds if it is
        there: answering from a half-filled read model would be silently wrong."""
        if not self._marker_checked:
            with self.database.read() as session:
                required = checkpoints.rebuild_required(session.connection())
            if required:
                self.rebuild()
            self._marker_checked = True
        if self.lag() == 0:
            return 0
        applied, batches = 0, 0
        while max_batches is None or batches < max_batches:
            with self.database.write() as session:
                count = self._apply_next_batch(session, ReadModelTables.live())
                if count == 0:
                    # Another process applied them while this one waited for the checkpoint:
                    # give the lock back without a commit (on PostgreSQL the row lock would
                    # otherwise cost a WAL flush for nothing).
                    session.rollback()
            applied += count
            batches += 1
            if count < self.batch_size:
                break  # the log's end as of this read; later appends wake a later catch-up
        return applied

    def _apply_next_batch(self, session: Session, tables: ReadModelTables) -> int:
        connection = session.connection()
        position = checkpoints.lock(connection, CHECKPOINT)
        events = self._read(session, after=position)
        if not events:
            return 0
        self._apply(connection, _Projections(tables), events, hooks=self.change_hooks)
        checkpoints.save(connection, CHECKPOINT, events[-1].position)
        return len(events)

    def _read(
        self,
        session: Session,
        *,
        after: int,
        until: int | None = None,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        limit = limit or self.batch_size
        limit = limit if until is None else max(0, min(limit, until - after))
        return self.store.read_all(session, after=after, limit=limit) if limit else []

    def _apply(
        self,
        connection: Connection,
        projections: "_Projections",
        events: Sequence[RecordedEvent],
        *,
        hooks: Sequence[ChangeHook],
    ) -> None:
        projections.catalog.apply(connection, events)
        changes = projections.statements.apply(connection, events)
        if changes:
            for hook in hooks:
                hook(connection, changes)

    def rebuild(self) -> int:
        """Empty the read models and replay the whole log into them, in one transaction.

        Readers keep seeing the old tables until the commit, never a half-built matrix. Webhook
        hooks are not called: a rebuild recomputes history, it does not announce it again.
        The replay is ``rebuild.replay``, which writes the same rows as catching up would.

        Where a fork is safe (``forked.may_fork``: a command line's process, not a server's)
        the rebuild runs in a child forked for it, on connections of its own. The replay
        holds millions of objects by its end (a version and its row per statement, a tuple
        per rectangle), and freeing them one at a time took 0.45 s of a 7 s rebuild at
        200,000 statements, on either backend, after the last index was built: the child
        leaves without freeing anything, and this process's memory never grows by a
        replay's. If the child fails, this process rebuilds itself, and raises what the
        replay raises.
        """
        return self._in_a_child_if_safe(
            self._rebuild_here,
            name="rebuilds the read models",
            instead="rebuilding the read models in this process instead",
        )

    def _in_a_child_if_safe(
        self, work: Callable[[list[Any] | None], Done], *, name: str, instead: str
    ) -> Done:
        """``work`` (a rebuild or a verify) in a child forked for it where a fork is safe,
        its replay's objects kept until the child leaves, else here; here too if the child
        fails, saying so (``instead``), unless it met an event the log cannot be replayed past
        (``LogNotReplayable``), which it raises."""
        if self._may_replay_in_child():
            child = forked.Forked(partial(self._in_child, work), name=name)
            log.info("a forked process %s", name)
            try:
                done = child.result(passing=(LogNotReplayable,))  # it would only fail here too
            finally:
                child.close()
            if done is not None:
                return done
            log.warning(instead)
        return work(None)

    def _may_replay_in_child(self) -> bool:
        return self.replay_in_child and not in_memory(self.database.engine) and forked.may_fork()

    def _in_child(self, work: Callable[[list[Any] | None], Done]) -> Done:
        """The forked child's work, on connections of its own. The parent's pooled
        connections are left untouched (``dispose(close=False)``, as SQLAlchemy prescribes
        after a fork): they share their sockets and files with the parent."""
        self.database.engine.dispose(close=False)
        gc.disable()  # what the replay kept would be collected in vain: the child then leaves
        return work(forked.KEPT_UNTIL_EXIT)

    def _rebuild_here(self, kept: list[Any] | None) -> int:
        with self.database.write() as session, rebuild_settings.page_cache(session.connection()):
            connection = session.connection()
            checkpoints.lock(connection, CHECKPOINT)
            if self.database.is_sqlite:
                applied, position = self._rebuild_in_place(connection, kept)
            else:
                applied, position = self._rebuild_beside(connection, kept)
            checkpoints.save(connection, CHECKPOINT, position)
            checkpoints.clear_rebuild_marker(connection)
        rebuild_settings.vacuum_new_tables(self.database)
        return applied

    def _rebuild_in_place(self, connection: Connection, kept: list[Any] | None) -> tuple[int, int]:
        """SQLite: drop the secondary indexes, empty the tables, replay, index again by sorting
        once each, which is far cheaper than inserting into them row by row. DDL is
        transactional there and readers keep their snapshot of the old tables meanwhile.
        Indexes go first, so emptying a table frees its pages without deleting an index entry
        per row. A table's indexes come back as soon as its rows are in (the versions' before
        the segments are made)."""
        tables = ReadModelTables.live()
        set_aside = {table.name: sorted(table.indexes, key=_name) for table in tables.all()}
        for indexes in set_aside.values():
            for index in indexes:
                index.drop(connection)
        for table in reversed(tables.all()):
            connection.execute(table.delete())

        def index_again(name: str) -> None:
            with rebuild_settings.sorting(connection):
                for index in set_aside[name]:
                    index.create(connection)

        return rebuild.replay(
            connection,
            tables,
            self.store.upcasters,
            split=self._split(),
            loaded=index_again,
            kept=kept,
        )

    def _rebuild_beside(self, connection: Connection, kept: list[Any] | None) -> tuple[int, int]:
        """PostgreSQL: replay into new tables beside the live ones, index them, and swap them
        in just before the commit. Dropping the live indexes instead would lock readers out
        for the whole rebuild, and keeping them meant updating five B-trees per rectangle in
        random order, each page write logged: 14 s of a 42 s rebuild at 200,000 statements.
        The rows arrive by ``COPY ... FREEZE`` (the tables are new in this transaction), so
        they are visible to every snapshot, as the old rows were, and their pages are marked
        all-visible at once, so the replay's index-only scans need no vacuum first. The tables
        get their primary keys after the load, like the other indexes: at 200,000 statements
        the COPY took 1.6 s with the keys maintained row by row (the rectangles' key is a
        digest, so in random order) and takes 0.8 s without, and the keys then build in 0.2."""
        rebuild_settings.fresh_log_statistics(connection)
        shadow = ReadModelTables.shadow(connection)
        found = rebuild.replay(
            connection,
            shadow,
            self.store.upcasters,
            fresh=True,
            split=self._split(),
            loaded=partial(shadow.index_shadow, connection),
            kept=kept,
        )
        shadow.swap(connection)
        return found

    def _split(self) -> Split:
        if self.rebuild_split is not None:
            return self.rebuild_split
        return SQLITE_SPLIT if self.database.is_sqlite else POSTGRES_SPLIT

    def verify(self) -> list[Difference]:
        """Rebuild into scratch tables up to the live checkpoint and compare with the live tables.

        Runs in one transaction holding the checkpoint, so no projector moves the live tables
        while they are compared; the scratch tables are temporary and vanish with the session.
        Where a fork is safe, in a child forked for it, as ``rebuild`` runs.
        """
        return self._in_a_child_if_safe(
            self._verify_here,
            name="verifies the read models",
            instead="verifying the read models in this process instead",
        )

    def _verify_here(self, kept: list[Any] | None) -> list[Difference]:
        live = ReadModelTables.live()
        with self.database.write() as session:
            connection = session.connection()
            until = checkpoints.lock(connection, CHECKPOINT)
            scratch = ReadModelTables.scratch(connection)
            rebuild.replay(
                connection,
                scratch,
                self.store.upcasters,
                until=until,
                split=self._split(),
                kept=kept,
            )
            differences = [
                difference
                for live_table, scratch_table in zip(live.all(), scratch.all(), strict=True)
                if (difference := _compare(connection, live_table, scratch_table)) is not None
            ]
            for table in scratch.all():
                table.drop(connection)
            session.rollback()
        return differences


def _name(index: Index) -> str:
    return str(index.name)


def _compare(connection: Connection, live: Any, scratch: Any) -> Difference | None:
    columns = [c.name for c in live.columns]
    keys = [live.c[c.name] for c in live.primary_key.columns]

    def rows(table: Any) -> set[tuple[Any, ...]]:
        query = select(*[table.c[name] for name in columns]).order_by(
            *[table.c[k.name] for k in keys]
        )
        return {tuple(_normal(v) for v in row) for row in connection.execute(query)}

    live_rows, rebuilt_rows = rows(live), rows(scratch)
    if live_rows == rebuilt_rows:
        return None
    only_live, only_rebuilt = live_rows - rebuilt_rows, rebuilt_rows - live_rows
    example = repr(sorted(only_live, key=repr)[:1] or sorted(only_rebuilt, key=repr)[:1])
    return Difference(live.name, len(only_live), len(only_rebuilt), example)


def _normal(value: Any) -> Any:
    """Hashable, comparable form of a column value (JSON columns come back as dicts)."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value
