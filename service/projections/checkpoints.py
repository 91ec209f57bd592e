"""Projection checkpoints: how far a projection has read, locked while it writes.

The checkpoint row is the projection's write lock: on PostgreSQL ``SELECT ... FOR UPDATE`` makes a
second projector (another process) wait and then see the advanced position, so two projectors
never apply the same events; on SQLite the write transaction's ``BEGIN IMMEDIATE`` already
excludes every other writer.
"""

from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Connection, delete, select, update

from service.store.tables import checkpoints_table as checkpoints


def lock(connection: Connection, name: str) -> int:
    """The checkpoint of ``name``, locked until the transaction ends (created at 0 if new)."""
    query = select(checkpoints.c.position).where(checkpoints.c.name == name)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    position = connection.execute(query).scalar()
    if position is not None:
        return int(position)
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        connection.execute(
            insert(checkpoints)
            .values(name=name, position=0, updated_at=datetime.now(UTC))
            .on_conflict_do_nothing()
        )
    else:
        connection.execute(
            checkpoints.insert().values(name=name, position=0, updated_at=datetime.now(UTC))
        )
    return int(connection.execute(query).scalar_one())


def read(connection: Connection, name: str) -> int:
    """The checkpoint of ``name`` without locking it; 0 when it was never written."""
    query = select(checkpoints.c.position).where(checkpoints.c.name == name)
    return int(connection.execute(query).scalar() or 0)


def save(connection: Connection, name: str, position: int) -> None:
    connection.execute(
        update(checkpoints)
        .where(checkpoints.c.name == name)
        .values(position=position, updated_at=datetime.now(UTC))
    )


REBUILD_MARKER: Final = "rebuild_required"
"""A checkpoint row a migration leaves when it added a read model that only a rebuild can fill
from the history already stored; the projector rebuilds on seeing it (see ``Projector``)."""


def require_rebuild(connection: Connection) -> None:
    """Leave the marker (once: one left earlier and not yet acted on stays as it is)."""
    if not rebuild_required(connection):
        connection.execute(
            checkpoints.insert().values(
                name=REBUILD_MARKER, position=0, updated_at=datetime.now(UTC)
            )
        )


def rebuild_required(connection: Connection) -> bool:
    query = select(checkpoints.c.name).where(checkpoints.c.name == REBUILD_MARKER)
    return connection.execute(query).first() is not None


def clear_rebuild_marker(connection: Connection) -> None:
    connection.execute(delete(checkpoints).where(checkpoints.c.name == REBUILD_MARKER))
