"""Response schemas shared by the API's routes; tables never leave the store."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from service.store.event_store import RecordedEvent

_EVENT_EXAMPLE: dict[str, Any] = {
    "position": 42,
    "event_id": "6f1c7a53-2d0e-4b7e-9a59-0c3e0c1d2b11",
    "stream_id": "actor-lukashenka",
    "version": 0,
    "type": "ActorRegistered",
    "schema_version": 1,
    "data": {"actor_id": "lukashenka", "name": "Alexander Lukashenko", "kind": "person"},
    "metadata": {"recorded_by": "key:newsroom"},
    "recorded_at": "2026-11-27T09:30:00.123456Z",
}


class EventOut(BaseModel):
    """One event of the log, its payload at the current schema version."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EVENT_EXAMPLE]})

    position: int = Field(description="Global order; pass as `after` to continue from here.")
    event_id: UUID
    stream_id: str = Field(description="The aggregate: `actor-…`, `topic-…`, `statement-…`.")
    version: int = Field(description="The event's version within its stream, from 0.")
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any] = Field(description="Who recorded it, correlation and causation.")
    recorded_at: datetime = Field(description="Transaction time (UTC).")

    @classmethod
    def from_recorded(cls, event: RecordedEvent) -> "EventOut":
        return cls(
            position=event.position,
            event_id=event.event_id,
            stream_id=event.stream_id,
            version=event.version,
            type=event.type,
            schema_version=event.schema_version,
            data=event.data,
            metadata=event.metadata,
            recorded_at=event.recorded_at,
        )


class EventPage(BaseModel):
    """A page of the log in position order."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"events": [_EVENT_EXAMPLE], "next_after": None}]}
    )

    events: list[EventOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null when this page reached the end of "
        "the log (poll again later with the last position you saw)."
    )
