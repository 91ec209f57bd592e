"""Engines and sessions: the one place that knows how to talk to SQLite and PostgreSQL.

SQLite runs in WAL mode (readers never block the writer), with foreign keys on, a busy timeout so
concurrent writers queue instead of failing, and ``synchronous=NORMAL``: in WAL mode that cannot
corrupt the file and loses nothing on a process crash, only the last transactions on a power cut,
which is the trade every embedded store makes for a 3x faster commit.

The WAL is checkpointed every 10,000 pages (about 40 MB) instead of SQLite's default 1,000. A
checkpoint writes each changed page back once, however many commits changed it, and appends keep
dirtying the same pages (the tail of the table and of the indexes, and random pages of the
stream index for new statement streams): when event ids were still random, on a log of 100,000
events, checkpointing after every 80 batches of 100 instead of every 8 halved the checkpoint cost
per batch (1.06 to 0.53 ms, mostly I/O wait). The price: a WAL file of that size, a
checkpointing commit that takes tens of milliseconds, and, as NORMAL syncs the WAL only at
checkpoints, a power cut can lose a longer tail of recent transactions (the kernel's own writeback
still bounds it in time). A process crash still loses nothing.

The page cache stays at SQLite's default (2 MB) and memory mapping off: with time-ordered event
ids an append touches the same few pages, and on logs of 22,000 and 116,000 events neither a
32 MB cache nor a 256 MB ``mmap_size`` made appends or reads measurably faster (mmap, if
anything, slower). ``temp_store`` does not matter here: neither appends nor reads of the log build
temporary B-trees.

Write transactions on SQLite start with ``BEGIN IMMEDIATE``. With a plain (deferred) BEGIN a
transaction that reads and then writes can fail at once with "database is locked" when another
writer committed in between, and the busy timeout does not help; taking the write lock up front
makes writers wait their turn instead.
"""

import select
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from psycopg import DataError
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format
from psycopg.types.json import set_json_loads
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlmodel import Session

from service.config import Settings

_SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000


def is_sqlite(engine: Engine) -> bool:
    """True for the embedded backend; a few statements (locks, triggers) differ by backend."""
    return engine.dialect.name == "sqlite"


def in_memory(engine: Engine) -> bool:
    """True for a SQLite database in memory, which no other process (nor, through another
    pool, connection) can open."""
    return is_sqlite(engine) and ":memory:" in (engine.url.database or ":memory:")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={_SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    # BEGIN goes straight to the driver, from the dialect rather than from a "begin" event as
    # SQLAlchemy's SQLite notes suggest: any engine-level event listener makes every connection
    # dispatch events on begin, execute and commit, 22 us of the 66 us a transaction's plumbing
    # cost. Write sessions take the write lock themselves first (``_begin_immediate``), so a
    # transaction already open on the driver is left as it is.
    engine.dialect.do_begin = _begin_deferred  # type: ignore[method-assign]


def _begin_deferred(dbapi_connection: sqlite3.Connection) -> None:
    if not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


def _begin_immediate(connection: Connection) -> None:
    """Begin a SQLite write transaction, holding the write lock from the start. Errors are
    wrapped as ``execute()`` would wrap them: a busy timeout still raises
    ``sqlalchemy.exc.OperationalError``."""
    statement = "BEGIN IMMEDIATE"
    try:
        connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
    except sqlite3.Error as error:
        raise DBAPIError.instance(statement, (), error, sqlite3.Error) from error
    connection.begin()


def _begin(connection: Connection) -> None:
    connection.begin()


def create_db_engine(url: str, *, busy_timeout_ms: int = 10_000, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the backend's settings applied."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            **kwargs,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    engine = create_engine(url, **kwargs)
    _configure_postgres(engine)
    return engine


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # orjson parses JSONB several times faster than the standard library.
        set_json_loads(orjson.loads, dbapi_connection)
        dbapi_connection.adapters.register_loader("jsonb", _JsonbBinaryLoader)
        # With the session in UTC, psycopg returns timestamptz values with datetime.timezone.utc,
        # as SQLite reads do, rather than the server's zone (often ZoneInfo("Etc/UTC")), which
        # costs more than the rest of a row to convert. It also makes SQL on times (date_trunc,
        # ::date) mean UTC whatever the server's default. Committed, so a rollback keeps it.
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # Raising DisconnectionError here makes the pool drop the connection and check out
        # another (a new one if need be), as pool_pre_ping would.
        if _may_be_disconnected(dbapi_connection) and not _answers_ping(engine, dbapi_connection):
            raise DisconnectionError("the server closed this pooled connection")


def _may_be_disconnected(connection: psycopg.Connection[Any]) -> bool:
    """Whether a pooled connection needs a ping before use: it is closed, or its socket is
    readable while it sits idle, which is what a server that hung up looks like (its goodbye
    message, then end of file).

    This replaces ``pool_pre_ping``, whose ping is a round trip on every checkout: a third of the
    round trips of a one-event append. Looking at the socket costs one ``poll`` and catches a
    restarted or terminated server the same way; only a server that vanished without closing
    the connection goes unnoticed until the first statement, as it would with a ping too (the
    ping would wait for its own timeout). The pool's connections never LISTEN, so an idle one
    has nothing else to read; if one ever does, it is pinged before use, which is correct.
    """
    if connection.closed or connection.broken:
        return True
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def _answers_ping(engine: Engine, connection: psycopg.Connection[Any]) -> bool:
    if connection.closed or connection.broken:
        return False
    try:
        return bool(engine.dialect.do_ping(connection))
    except psycopg.Error:
        return False


class _JsonbBinaryLoader(Loader):
    """Binary JSONB (a version byte, then the JSON text) straight into orjson.

    psycopg's own loader copies the text out of the row buffer first; orjson reads the buffer in
    place. The event store reads the log in binary, so this runs twice per event read."""

    format = Format.BINARY

    def load(self, data: Buffer) -> Any:
        if data[0] != 1:
            raise DataError(f"unknown jsonb binary format version {data[0]}")
        return orjson.loads(data[1:])


class ConnectionSession(Session):
    """A session over one connection, in a transaction it begins at once (and again after a
    ``commit()`` or ``rollback()`` inside the block), with ``begin``.

    Why not ``Session(engine)``: that session checks its connection out through a
    ``SessionTransaction`` on first use and tears it down again on commit, which cost as much as
    the one-event SQLite append it wrapped (115 us against 70 us for this one, per transaction).
    Most of the service only asks for ``connection()``; here that is the begun connection itself.
    The ORM, when used, joins the same transaction ("rollback_only": it may roll the transaction
    back, never commit it behind the caller), and ``commit()`` and ``rollback()`` end it as a
    plain session's would.
    """

    def __init__(
        self, connection: Connection, begin: Callable[[Connection], None] = _begin
    ) -> None:
        super().__init__(
            bind=connection, expire_on_commit=False, join_transaction_mode="rollback_only"
        )
        self._scope = connection
        self._begin = begin
        begin(connection)

    def connection(
        self,
        bind_arguments: dict[str, Any] | None = None,
        execution_options: Mapping[str, Any] | None = None,
    ) -> Connection:
        if bind_arguments is not None or execution_options is not None:
            return super().connection(bind_arguments, execution_options)
        if not self._scope.in_transaction():  # ended by commit() or rollback(): begin again
            self._begin(self._scope)
        return self._scope

    def commit(self) -> None:
        """Flush what the ORM holds, then commit the connection's transaction."""
        if self.in_transaction():
            super().commit()
        if self._scope.in_transaction():
            self._scope.commit()

    def rollback(self) -> None:
        if self.in_transaction():
            super().rollback()
        if self._scope.in_transaction():
            self._scope.rollback()

    def close(self) -> None:
        """Close the ORM's part, if it was used: closing an unused session rebuilds its identity
        map for nothing, a tenth of the cost of a one-event SQLite append. The connection is
        ``Database``'s to close."""
        if self.in_transaction() or self.identity_map:
            super().close()


class Database:
    """An engine plus the session factories the rest of the service uses.

    ``read()`` sessions never write; ``write()`` sessions commit on success and roll back on error,
    so callers (command handlers, projectors) only flush. Both begin their transaction at once:
    every caller goes to the database straight away.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = is_sqlite(engine)
        self._begin_write = _begin_immediate if self.is_sqlite else _begin
        # PostgreSQL read sessions are READ ONLY and end with COMMIT, not ROLLBACK: psycopg drops
        # every prepared statement of a connection on ROLLBACK (DEALLOCATE ALL, then a new Parse
        # for each statement the next session runs), two round trips per read for nothing. READ
        # ONLY makes a stray write an error rather than something the COMMIT would keep.
        self._read_engine = (
            engine if self.is_sqlite else engine.execution_options(postgresql_readonly=True)
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        return cls(
            create_db_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; its transaction ends with the block, so it holds no snapshot."""
        with self._read_engine.connect() as connection:
            session = ConnectionSession(connection)
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            else:
                if self.is_sqlite:
                    session.rollback()
                else:
                    session.commit()
            finally:
                session.close()

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read whose statements all see one snapshot, rolled back at the end.

        A SQLite read transaction already is one; PostgreSQL's default (READ COMMITTED) gives
        each statement its own, so it runs REPEATABLE READ (a read-only one never conflicts).
        For answers that must say exactly which state of the read models they show."""
        options = {} if self.is_sqlite else {"isolation_level": "REPEATABLE READ"}
        with self.engine.connect().execution_options(**options) as connection:
            # Begun here, not on the first execute(): queries that go straight to the driver
            # would otherwise run outside any transaction on SQLite, one snapshot each.
            transaction = connection.begin()
            try:
                yield connection
            finally:
                transaction.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends without error."""
        with self.engine.connect() as connection:
            session = ConnectionSession(connection, self._begin_write)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    def dispose(self) -> None:
        self.engine.dispose()
