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
            data = event.data
            if event.type == "ActorRegistered":
                self._insert(connection, self.tables.actors, "actor_id", data, event)
            elif event.type == "TopicDefined":
                self._insert(connection, self.tables.topics, "topic_id", data, event)
            elif event.type == "ActorUpdated":
                self._update(connection, self.tables.actors, "actor_id", data, event)
            else:
                self._update(connection, self.tables.topics, "topic_id", data, event)

    def _insert(
        self,
        connection: Connection,
        table: Table,
        key: str,
        data: dict[str, Any],
        event: RecordedEvent,
    ) -> None:
        row = {name: value for name, value in data.items() if name in table.c}
        stamp = "registered_at" if "registered_at" in table.c else "defined_at"
        row.update({stamp: event.recorded_at, "updated_position": event.position})
        if connection.execute(table.select().where(table.c[key] == data[key])).first() is None:
            connection.execute(table.insert().values(**row))

    def _update(
        self,
        connection: Connection,
        table: Table,
        key: str,
        data: dict[str, Any],
        event: RecordedEvent,
    ) -> None:
        changes = {name: value for name, value in data["changes"].items() if name in table.c}
        connection.execute(
            update(table)
            .where(table.c[key] == data[key])
            .values(**changes, updated_position=event.position)
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

    def apply(self, _connection: Connection, events: Sequence[RecordedEvent]) -> None:
        """Take ``events`` in (the connection is ``CatalogProjection.apply``'s, unused here:
        nothing is written until ``write``)."""
        for event in events:
            if event.type not in CATALOG_EVENTS:
                continue
            data = event.data
            if event.type in ("ActorRegistered", "TopicDefined"):
                self._register(event, data)
            else:
                self._change(event, data)

    def write(self, connection: Connection) -> None:
        """Insert every row kept, each with every column (what a registration left out is
        null, as the projection's insert leaves it)."""
        for name, rows in self._rows.items():
            table: Table = getattr(self.tables, name)
            if rows:
                columns = [column.name for column in table.c]
                complete = [{key: row.get(key) for key in columns} for row in rows.values()]
                connection.execute(table.insert(), complete)

    def _register(self, event: RecordedEvent, data: dict[str, Any]) -> None:
        name, key, stamp = _CATALOG[event.type]
        rows = self._rows[name]
        if data[key] in rows:
            return
        table: Table = getattr(self.tables, name)
        row = {column: value for column, value in data.items() if column in table.c}
        row.update({stamp: event.recorded_at, "updated_position": event.position})
        rows[data[key]] = row

    def _change(self, event: RecordedEvent, data: dict[str, Any]) -> None:
        name, key, _stamp = _CATALOG[event.type]
        row = self._rows[name].get(data[key])
        if row is None:
            return
        table: Table = getattr(self.tables, name)
        row.update(
            {column: value for column, value in data["changes"].items() if column in table.c}
        )
        row["updated_position"] = event.position


_CATALOG = {
    "ActorRegistered": ("actors", "actor_id", "registered_at"),
    "ActorUpdated": ("actors", "actor_id", "registered_at"),
    "TopicDefined": ("topics", "topic_id", "defined_at"),
    "TopicUpdated": ("topics", "topic_id", "defined_at"),
}
"""Each catalog event's table, key column and the column stamped when the id was registered."""
