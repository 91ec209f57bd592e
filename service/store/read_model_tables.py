"""Tables of the read models: projections of the log, rebuilt from it at will.

Unlike ``events`` these tables are ordinary mutable tables: the projector owns them, and
``stance projections rebuild`` can empty and refill them from the log at any time.
"""

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Index, MetaData, String, Table, text
from sqlmodel import Field, SQLModel

from service.store import interval_index
from service.store.types import UTCDateTime, json_type, position_type, slug_type


class ActorRow(SQLModel, table=True):
    """The actor catalog as it stands now."""

    __tablename__ = "actors"

    actor_id: str = Field(sa_type=slug_type(), primary_key=True)
    name: str = Field(sa_type=String(200))
    kind: str = Field(sa_type=String(20))
    country: str | None = Field(default=None, sa_type=String(2))
    role: str | None = Field(default=None, sa_type=String(200))
    aliases: list[str] = Field(sa_column=Column("aliases", json_type(), nullable=False))
    wikidata_id: str | None = Field(default=None, sa_type=String(20))
    registered_at: datetime = Field(sa_type=UTCDateTime())
    updated_position: int = Field(sa_type=position_type())


class TopicRow(SQLModel, table=True):
    """The topic catalog as it stands now."""

    __tablename__ = "topics"

    topic_id: str = Field(sa_type=slug_type(), primary_key=True)
    title: str = Field(sa_type=String(200))
    proposition: str = Field(sa_type=String(500))
    keywords: list[str] = Field(sa_column=Column("keywords", json_type(), nullable=False))
    cues: dict[str, Any] = Field(sa_column=Column("cues", json_type(), nullable=False))
    defined_at: datetime = Field(sa_type=UTCDateTime())
    updated_position: int = Field(sa_type=position_type())


class StatementVersionRow(SQLModel, table=True):
    """Each version of each statement, with the transaction-time range in which it was believed.

    A version is open (``known_until`` is null) until the next event of its statement closes it.
    The open version of a statement is its current state; ``counts`` says whether it takes part in
    the stance rule (accepted, not rejected, not retracted). Replays do not search this table:
    a seek per pair (one backward scan of a stance-rule index, as revision 0003 made it) took
    10 ms for a 5,000-cell matrix on SQLite and 44 ms on PostgreSQL, against one probe of
    ``stance_intervals``; revision 0010 dropped that index.

    Each event creates at most one version, so ``caused_by_position`` names a version on its
    own (a rectangle names its version so), and it is the key: versions are made in log order,
    so each new row goes to the right-hand edge of the table, and on SQLite the key is the
    rowid, the table's own B-tree. Keyed by (statement_id, version_no), a random UUID first, a
    rebuild had to sort 200,000 versions by it and then insert them in an order unrelated to
    where their values lie in memory, and SQLite kept that key in an index of its own besides:
    1.8 s against 0.9 s to load them (revision 0012). The statement's own numbering is a
    unique index.
    """

    __tablename__ = "statement_versions"
    __table_args__ = (
        Index(
            "ix_statement_versions_open",
            "statement_id",
            unique=True,
            sqlite_where=text("known_until_position IS NULL"),
            postgresql_where=text("known_until_position IS NULL"),
        ),
        Index("ix_statement_versions_listing", "actor_id", "topic_id", "stated_at"),
        Index("ix_statement_versions_statement", "statement_id", "version_no", unique=True),
    )

    statement_id: uuid.UUID
    version_no: int
    actor_id: str = Field(sa_type=slug_type())
    topic_id: str = Field(sa_type=slug_type())
    stance: str = Field(sa_type=String(20))
    score: int
    quote: str
    stated_at: datetime = Field(sa_type=UTCDateTime())
    kind: str = Field(sa_type=String(20))
    source: dict[str, Any] = Field(sa_column=Column("source", json_type(), nullable=False))
    confidence: float
    method: str = Field(sa_type=String(20))
    status: str = Field(sa_type=String(20))
    counts: bool
    reason: str | None = None
    recorded_position: int = Field(sa_type=position_type())
    recorded_at: datetime = Field(sa_type=UTCDateTime())
    caused_by_position: int = Field(
        sa_type=position_type(), primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    caused_by_type: str = Field(sa_type=String(40))
    known_from: datetime = Field(sa_type=UTCDateTime())
    known_until: datetime | None = Field(default=None, sa_type=UTCDateTime())
    known_until_position: int | None = Field(default=None, sa_type=position_type())


def _tree_indexes(half: str, where: str, until: tuple[str, ...]) -> list[Index]:
    """The interval tree's two indexes over one half of the rectangles (open or closed): by
    node and upper bound, and by node and lower bound. Their entries carry the transaction range
    and the id, so the probe checks the one and answers the other from the index alone."""
    return [
        Index(
            f"ix_stance_intervals_{half}_{bound}",
            "valid_node",
            f"valid_{bound}",
            "known_from_position",
            *until,
            "interval_id",
            sqlite_where=text(where),
            postgresql_where=text(where),
        )
        for bound in ("hi", "lo")
    ]


STANCE_INTERVALS = Table(
    "stance_intervals",
    SQLModel.metadata,
    Column("interval_id", position_type(), nullable=False, autoincrement=False),
    Column("actor_id", slug_type(), nullable=False),
    Column("topic_id", slug_type(), nullable=False),
    Column("valid_node", position_type(), nullable=False),
    Column("valid_lo", position_type(), nullable=False),
    Column("valid_hi", position_type(), nullable=False),
    Column("known_from_position", position_type(), nullable=False),
    Column("known_until_position", position_type(), nullable=True),
    Column("version_position", position_type(), nullable=False),
    Column("previous_stance", String(20), nullable=True),
    Index("ix_stance_intervals_id", "interval_id", unique=True),
    Index(
        "ix_stance_intervals_open",
        "actor_id",
        "topic_id",
        "valid_lo",
        unique=True,
        sqlite_where=text(interval_index.OPEN),
        postgresql_where=text(interval_index.OPEN),
    ),
    Index(
        "ix_stance_intervals_pair_closed",
        "actor_id",
        "topic_id",
        "valid_lo",
        sqlite_where=text(interval_index.CLOSED),
        postgresql_where=text(interval_index.CLOSED),
    ),
    *_tree_indexes("open", interval_index.OPEN, ()),
    *_tree_indexes("closed", interval_index.CLOSED, ("known_until_position",)),
)
"""Rectangles of bitemporal stance history: for valid times in [valid_lo, valid_hi] (whole
microseconds, see ``interval_index.micros``) and transaction times after log position
``known_from_position`` and up to ``known_until_position`` (excluded; null: still so), the stance
of (actor, topic) is that of statement version ``version_position``, flipping from
``previous_stance``.

For each state of knowledge a pair's counting statements cut valid time into segments, one per
statement that wins somewhere (greatest stated_at, ties to the later record), each with the
previous stance it flips from. A write changes only the few segments around the statement it
touches: those are closed (``known_until_position`` set, never rewritten otherwise) and their
successors opened. The rectangles of a pair never overlap, so the as-of matrix is the set of
rectangles containing the point (as_of, known_at): ``valid_node`` places the valid range in an
interval tree that two ordinary indexes answer (``service.store.interval_index``), and their
entries carry the transaction range and the id, so the probe reads nothing else. A few pairs
are ranges of two indexes by (actor_id, topic_id, valid_lo), one per half: the open
rectangles' (unique, which the projector closes them by) and the closed ones'. One index over
every rectangle repeated the open ones' entries, two in five of its own (revision 0013).

A rectangle names its version rather than copying it: some 2.6 rectangles per statement
otherwise repeat its quote and source, which made this table three times the size of the
versions and its load the largest part of a rebuild. A matrix joins the versions of the cells it
has not built before. A segment starts where its statement was stated, so the valid range's
start is also the cell's ``since``.

``interval_id`` is a digest of everything the rectangle says (63 bits of BLAKE2b over the pair,
the answer, the valid range and the position that opened it; see
``service.projections.statements.rectangle_id``): incremental updating and a rebuild give every
rectangle the same id, and a reader may keep the cells it built by id, in any number of
databases, without ever seeing one go stale.

The id is a unique index, not the table's key, and the table has no primary key: the rows are
stored in the order they are written (on SQLite by a rowid of their own), where a digest as key
made each write land at a random place, and made a rebuild sort 514,000 rectangles by it and
insert them in an order unrelated to where their values lie in memory (1.4 s against 0.9 s to
load them, index included; revision 0012). Being a plain Core table (a mapped class must have
a key) costs nothing: the projections and queries use the table, never a mapped row.
"""


class StancePairRow(SQLModel, table=True):
    """Every (actor, topic) that ever had a statement: the rows of the replay matrix."""

    __tablename__ = "stance_pairs"

    actor_id: str = Field(sa_type=slug_type(), primary_key=True)
    topic_id: str = Field(sa_type=slug_type(), primary_key=True)


class CurrentStanceRow(SQLModel, table=True):
    """The stance of each (actor, topic) as known now; no row where there is no stance."""

    __tablename__ = "current_stances"
    __table_args__ = (Index("ix_current_stances_topic", "topic_id", "actor_id"),)

    actor_id: str = Field(sa_type=slug_type(), primary_key=True)
    topic_id: str = Field(sa_type=slug_type(), primary_key=True)
    stance: str = Field(sa_type=String(20))
    score: int
    since: datetime = Field(sa_type=UTCDateTime())
    statement_id: uuid.UUID
    previous_stance: str | None = Field(default=None, sa_type=String(20))
    flip: bool
    changed_position: int = Field(sa_type=position_type())
    updated_position: int = Field(sa_type=position_type())


class StanceChangeRow(SQLModel, table=True):
    """Each change of a current stance label, and the event that caused it."""

    __tablename__ = "stance_changes"
    __table_args__ = (Index("ix_stance_changes_pair", "actor_id", "topic_id", "position"),)

    position: int = Field(sa_type=position_type(), primary_key=True)
    actor_id: str = Field(sa_type=slug_type(), primary_key=True)
    topic_id: str = Field(sa_type=slug_type(), primary_key=True)
    from_stance: str | None = Field(default=None, sa_type=String(20))
    to_stance: str | None = Field(default=None, sa_type=String(20))
    flip: bool
    statement_id: uuid.UUID | None = None
    previous_statement_id: uuid.UUID | None = None
    since: datetime | None = Field(default=None, sa_type=UTCDateTime())
    event_type: str = Field(sa_type=String(40))
    event_id: uuid.UUID
    recorded_at: datetime = Field(sa_type=UTCDateTime())


@dataclass(frozen=True)
class ReadModelTables:
    """The read-model tables a projection writes to: the live ones, or scratch copies.

    ``stance projections verify`` rebuilds into temporary copies and compares them with the live
    tables, so projection code never names a table directly.
    """

    actors: Table
    topics: Table
    statement_versions: Table
    stance_pairs: Table
    current_stances: Table
    stance_changes: Table
    stance_intervals: Table

    @classmethod
    def live(cls) -> "ReadModelTables":
        return cls(
            actors=ActorRow.__table__,  # type: ignore[attr-defined]
            topics=TopicRow.__table__,  # type: ignore[attr-defined]
            statement_versions=StatementVersionRow.__table__,  # type: ignore[attr-defined]
            stance_pairs=StancePairRow.__table__,  # type: ignore[attr-defined]
            current_stances=CurrentStanceRow.__table__,  # type: ignore[attr-defined]
            stance_changes=StanceChangeRow.__table__,  # type: ignore[attr-defined]
            stance_intervals=STANCE_INTERVALS,
        )

    def all(self) -> list[Table]:
        return [getattr(self, f.name) for f in fields(self)]

    @classmethod
    def shadow(cls, connection: Connection) -> "ReadModelTables":
        """Empty copies named ``rebuilt_<table>`` with the same columns but no index, not even
        the primary key, created in the caller's transaction: a PostgreSQL rebuild fills them
        while readers go on reading the live tables, ``index_shadow`` indexes each (the keys
        too, each by one sort rather than an insert per row in random order), then ``swap``
        puts them in their place."""
        metadata = MetaData()
        copies = {}
        for f in fields(cls):
            live: Table = getattr(cls.live(), f.name)
            columns = _columns(live, keyed=False)
            copies[f.name] = Table(f"{SHADOW_PREFIX}{live.name}", metadata, *columns)
        metadata.create_all(connection)
        return cls(**copies)

    @classmethod
    def scratch(cls, connection: Connection) -> "ReadModelTables":
        """Temporary copies (same columns and keys, no secondary indexes), gone at disconnect."""
        metadata = MetaData()
        copies = {}
        for f in fields(cls):
            live: Table = getattr(cls.live(), f.name)
            copies[f.name] = Table(
                f"scratch_{live.name}", metadata, *_columns(live), prefixes=["TEMPORARY"]
            )
        metadata.create_all(connection)
        return cls(**copies)

    def index_shadow(self, connection: Connection, name: str) -> None:
        """Create on the shadow of table ``name`` (the live name) the live table's primary key
        and secondary indexes, under the shadow prefix (the live names are taken until
        ``swap``), each built by one sort of the rows, shared with a parallel worker
        (``_PARALLEL_BUILD``); then ANALYZE it, in this transaction: the planner's statistics
        come in place with the table, and a rebuild that loads one table while it still folds
        the others gathers them meanwhile."""
        for setting in _PARALLEL_BUILD:
            connection.exec_driver_sql(setting)
        live: Table = getattr(ReadModelTables.live(), name)
        copy: Table = getattr(self, name)
        keys = ", ".join(column.name for column in live.primary_key.columns)
        if keys:  # the rectangles have none (``STANCE_INTERVALS``)
            connection.exec_driver_sql(
                f"ALTER TABLE {copy.name} ADD CONSTRAINT {copy.name}_pkey PRIMARY KEY ({keys})"
            )
        for index in sorted(live.indexes, key=lambda each: str(each.name)):
            Index(
                f"{SHADOW_PREFIX}{index.name}",
                *[copy.c[column.name] for column in index.columns],
                unique=bool(index.unique),
                **index.dialect_kwargs,
            ).create(connection)
        connection.exec_driver_sql(f"ANALYZE {copy.name}")

    def swap(self, connection: Connection) -> None:
        """Drop the live tables and give these shadows, their indexes and primary keys the live
        names, in the caller's transaction (PostgreSQL). Readers wait only from here to the
        commit, and then find the new tables by name."""
        for live, copy in zip(ReadModelTables.live().all(), self.all(), strict=True):
            connection.exec_driver_sql(f"DROP TABLE {live.name}")
            connection.exec_driver_sql(f"ALTER TABLE {copy.name} RENAME TO {live.name}")
            if live.primary_key.columns:
                connection.exec_driver_sql(
                    f"ALTER TABLE {live.name} RENAME CONSTRAINT {copy.name}_pkey "
                    f"TO {live.name}_pkey"
                )
            for index in live.indexes:
                connection.exec_driver_sql(
                    f"ALTER INDEX {SHADOW_PREFIX}{index.name} RENAME TO {index.name}"
                )


SHADOW_PREFIX = "rebuilt_"
_PARALLEL_BUILD = (
    "SET LOCAL maintenance_work_mem = '256MB'",
    "SET LOCAL max_parallel_maintenance_workers = 1",
)
"""How a rebuild's index builds run: the client only waits for them, so one parallel worker
sorts beside the leader, which halves the larger builds on two cores (the pair index of
514,000 rectangles: 0.91 s against 0.45 s). Each participant needs 32 MB of the memory (the
default 64 MB would allow none), and all of it holds the sort in memory."""


def _columns(table: Table, *, keyed: bool = True) -> list[Column[Any]]:
    """Copies of a table's columns: same names, types, nullability and (when ``keyed``)
    primary key, and no serial where the original has none."""
    return [
        Column(
            c.name,
            c.type,
            primary_key=keyed and c.primary_key,
            nullable=c.nullable,
            autoincrement=c.autoincrement,
        )
        for c in table.columns
    ]
