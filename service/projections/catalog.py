"""The actor and topic catalog read models: kept event by event (``CatalogProjection``), or
folded in memory by a replay from position 0 and written once (``CatalogFold``)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, update

from service.store.event_store import RecordedEvent
from service.store.read_model_tables import ReadModelTables

CATALOG_EVENTS = frozenset({"ActorRegistered", "ActorUpdated", "TopicDefined", "TopicUpdated"})


class CatalogProjection:
    """Keeps ``actors`` and ``topics`` equal to the latest state of their streams."""

    def __init__(self, tables: ReadModelTables) -> None:
        self.tables = tables

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            if event.type not in CATALOG_EVENTS:
                continue
            _name, table, key, registers = _entry(self.tables, event)
            data = event.data
            if registers:
                found = table.select().where(table.c[key] == data[key])
                if connection.execute(found).first() is None:
                    connection.execute(table.insert().values(**_registration(table, event)))
            else:
                connection.execute(
                    update(table)
                    .where(table.c[key] == data[key])
                    .values(**_changes(table, event), updated_position=event.position)
                )


class CatalogFold:
    """The catalog of a replay from position 0, in memory: the rows ``CatalogProjection``
    leaves, by the same rules (a registration of an id already there changes nothing, an
    update of an unknown one neither), written by one statement per table (``write``). The
    projection's two statements per event, a select and an insert or an update, each waited
    on its round trip, and on PostgreSQL behind the replay's read of the next page of the
    log: 0.14 s of the replay's first pass for 150 catalog events."""

    def __init__(self, tables: ReadModelTables) -> None:
        self.tables = tables
        self._rows: dict[str, dict[str, dict[str, Any]]] = {"actors": {}, "topics": {}}

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        """Take ``events`` in; nothing is written until ``write``."""
        for event in events:
            if event.type not in CATALOG_EVENTS:
                continue
            name, table, key, registers = _entry(self.tables, event)
            rows, id_ = self._rows[name], event.data[key]
            if registers:
                rows.setdefault(id_, _registration(table, event))
            elif (row := rows.get(id_)) is not None:
                row.update(_changes(table, event), updated_position=event.position)

    def write(self, connection: Connection) -> None:
        """Insert every row kept, each with every column (what a registration left out is
        null, as the projection's insert leaves it)."""
        for name, rows in self._rows.items():
            table: Table = getattr(self.tables, name)
            if rows:
                columns = [column.name for column in table.c]
                complete = [{key: row.get(key) for key in columns} for row in rows.values()]
                connection.execute(table.insert(), complete)


_CATALOG = {
    "ActorRegistered": ("actors", "actor_id", True),
    "ActorUpdated": ("actors", "actor_id", False),
    "TopicDefined": ("topics", "topic_id", True),
    "TopicUpdated": ("topics", "topic_id", False),
}
"""Each catalog event's table, key column, and whether it registers the id (or updates it)."""


def _entry(tables: ReadModelTables, event: RecordedEvent) -> tuple[str, Table, str, bool]:
    """The event's ``_CATALOG`` entry, with its table among ``tables`` (live, shadow or
    scratch)."""
    name, key, registers = _CATALOG[event.type]
    return name, getattr(tables, name), key, registers


def _registration(table: Table, event: RecordedEvent) -> dict[str, Any]:
    """The row a registration makes: the payload's columns, stamped with when and where."""
    row = {name: value for name, value in event.data.items() if name in table.c}
    stamp = "registered_at" if "registered_at" in table.c else "defined_at"
    row.update({stamp: event.recorded_at, "updated_position": event.position})
    return row


def _changes(table: Table, event: RecordedEvent) -> dict[str, Any]:
    """The columns an update changes (its position aside)."""
    return {name: value for name, value in event.data["changes"].items() if name in table.c}
