"""The actor and topic catalog read models."""

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
