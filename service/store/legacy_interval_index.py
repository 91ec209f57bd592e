"""The spatial indexes revisions 0008 and 0009 created on ``stance_intervals``, frozen.

Revision 0010 replaced them with the interval tree of ``service.store.interval_index``; their
migrations and 0010's downgrade build them from here exactly as they were, so those revisions
keep doing what they did whatever the live module becomes. SQLite: an R*Tree over (valid time
in epoch seconds) x (transaction time as log positions), kept in step by triggers. PostgreSQL: a
GiST index over the two time ranges (0008), then the same carrying the time columns (0009).
"""

from sqlalchemy import Connection

RTREE = "stance_intervals_rtree"
GIST = "ix_stance_intervals_covering"
GIST_0008 = "ix_stance_intervals_bitemporal"
_OPEN_END = 1e18


def _box(row: str) -> str:
    return (
        f"unixepoch({row}valid_from) - 1, coalesce(unixepoch({row}valid_until) + 1, {_OPEN_END}), "
        f"{row}known_from_position, coalesce({row}known_until_position, {_OPEN_END})"
    )


_SQLITE = [
    f"CREATE VIRTUAL TABLE {RTREE} USING rtree(id, valid_lo, valid_hi, known_lo, known_hi)",
    f"""CREATE TRIGGER stance_intervals_index_insert AFTER INSERT ON stance_intervals BEGIN
          INSERT INTO {RTREE} VALUES (NEW.interval_id, {_box("NEW.")});
        END""",
    f"""CREATE TRIGGER stance_intervals_index_close
        AFTER UPDATE OF known_until_position ON stance_intervals BEGIN
          UPDATE {RTREE} SET known_hi = coalesce(NEW.known_until_position, {_OPEN_END})
          WHERE id = NEW.interval_id;
        END""",
]
_RANGES = "(tstzrange(valid_from, valid_until), tstzrange(known_from, known_until))"
POSTGRES_INDEX_0009 = (
    f"CREATE INDEX {GIST} ON stance_intervals USING gist {_RANGES} "
    "INCLUDE (interval_id, valid_from, valid_until, known_from, known_until)"
)
POSTGRES_INDEX_0008 = (
    f"CREATE INDEX {GIST_0008} ON stance_intervals USING gist {_RANGES} INCLUDE (interval_id)"
)


def create_sqlite_rtree(connection: Connection) -> None:
    """The R*Tree and its triggers, filled from the rows already in the table."""
    for statement in _SQLITE:
        connection.exec_driver_sql(statement)
    connection.exec_driver_sql(
        f"INSERT INTO {RTREE} SELECT interval_id, {_box('')} FROM stance_intervals"
    )


def drop(connection: Connection) -> None:
    """Whichever of them exists."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS stance_intervals_index_close")
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS stance_intervals_index_insert")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {RTREE}")
    else:
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {GIST}")
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {GIST_0008}")
