"""The spatial index of ``stance_intervals``: what the as-of matrix probes, per backend.

The models cannot describe either index, so the migration creates them from here and Alembic's
comparison skips them (``UNMODELLED``). SQLite: an R*Tree over (valid time in epoch seconds) x
(transaction time as log positions), kept in step by triggers. Positions rather than times on
that axis, because the R*Tree stores 32-bit floats: a second's resolution would merge every event
of a busy minute, while a position is exact up to 2**24 and, beyond, rounded outwards (the R*Tree
widens boxes, never narrows them), and the query checks the exact columns anyway. A transaction
time maps to a position by one seek on ``events.recorded_at``, since recorded times never go
down along the log. PostgreSQL: a GiST index over the two time ranges, which is exact. It
carries the interval id and the four time columns, so once a page is all-visible the probe is an
index-only scan (the ranges are expressions, and PostgreSQL reads an expression's columns from
the index only when they are stored there too): for 5,000 cells among 514,000 rectangles, 9.1 to
7.9 ms for a matrix asked again, 7.8 to 5.7 ms known now, measured on the same table.
"""

from sqlalchemy import Connection

RTREE = "stance_intervals_rtree"
GIST = "ix_stance_intervals_covering"
GIST_0008 = "ix_stance_intervals_bitemporal"
"""The index revision 0008 created, which 0009 replaces with ``GIST``."""
UNMODELLED = frozenset(
    {RTREE, f"{RTREE}_node", f"{RTREE}_parent", f"{RTREE}_rowid", GIST, GIST_0008}
)
OPEN_END = 1e18
"""The R*Tree's upper bound for a rectangle still open on an axis."""


# unixepoch() truncates: widen by a second each way, the exact check is in the query.
def _box(row: str) -> str:
    """The R*Tree box of a rectangle: valid seconds, widened, by log positions."""
    return (
        f"unixepoch({row}valid_from) - 1, coalesce(unixepoch({row}valid_until) + 1, {OPEN_END}), "
        f"{row}known_from_position, coalesce({row}known_until_position, {OPEN_END})"
    )


VALID_SLACK = 2.0
"""Seconds by which a box may be wider than its rectangle on the valid axis, before rounding
to 32 bits (the widening above, and unixepoch()'s truncation of fractions)."""


_SQLITE = [
    f"CREATE VIRTUAL TABLE {RTREE} USING rtree(id, valid_lo, valid_hi, known_lo, known_hi)",
    f"""CREATE TRIGGER stance_intervals_index_insert AFTER INSERT ON stance_intervals BEGIN
          INSERT INTO {RTREE} VALUES (NEW.interval_id, {_box("NEW.")});
        END""",
    f"""CREATE TRIGGER stance_intervals_index_close
        AFTER UPDATE OF known_until_position ON stance_intervals BEGIN
          UPDATE {RTREE} SET known_hi = coalesce(NEW.known_until_position, {OPEN_END})
          WHERE id = NEW.interval_id;
        END""",
]
_RANGES = "(tstzrange(valid_from, valid_until), tstzrange(known_from, known_until))"
_POSTGRES_INDEX = (
    f"CREATE INDEX {GIST} ON stance_intervals USING gist {_RANGES} "
    "INCLUDE (interval_id, valid_from, valid_until, known_from, known_until)"
)
POSTGRES_INDEX_0008 = (
    f"CREATE INDEX {GIST_0008} ON stance_intervals USING gist {_RANGES} INCLUDE (interval_id)"
)
"""Revision 0008's index, as it made it: its upgrade and 0009's downgrade create it."""


def create(connection: Connection) -> None:
    """Create the index (and on SQLite the triggers that feed it) on a migrated table."""
    if connection.dialect.name == "sqlite":
        for statement in _SQLITE:
            connection.exec_driver_sql(statement)
    else:
        connection.exec_driver_sql(_POSTGRES_INDEX)


def drop(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS stance_intervals_index_close")
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS stance_intervals_index_insert")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {RTREE}")
    else:
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {GIST}")
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {GIST_0008}")


def clear(connection: Connection) -> None:
    """Empty the index with its table, for a rebuild, and stop feeding it row by row until
    ``restore``. SQLite only (DDL there is transactional and readers keep their snapshot); on
    PostgreSQL dropping the GiST index would lock readers out for the whole rebuild."""
    if connection.dialect.name == "sqlite":  # a new tree: deleting row by row is far slower
        connection.exec_driver_sql("DROP TRIGGER stance_intervals_index_insert")
        connection.exec_driver_sql(f"DROP TABLE {RTREE}")
        connection.exec_driver_sql(_SQLITE[0])


def restore(connection: Connection) -> None:
    """Fill the index from the loaded rows in one statement (a quarter of the cost of the
    trigger's row by row inserts) and feed it row by row again."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"INSERT INTO {RTREE} SELECT interval_id, {_box('')} FROM stance_intervals"
        )
        connection.exec_driver_sql(_SQLITE[1])
