"""Plain records passed between the event store and its backend modules."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

RawEvent = tuple[int, uuid.UUID, str, int, str, int, dict[str, Any], dict[str, Any], datetime]
"""A stored event as the backend read it, before upcasting: the columns of ``events`` in order."""


class PendingEvent(NamedTuple):
    """An event about to be inserted, with the schema version the writer's code produces.

    A named tuple rather than a frozen dataclass: a batch builds one per event, and a tuple is
    several times cheaper to build than a frozen dataclass, whose ``__init__`` goes through
    ``object.__setattr__`` field by field."""

    event_id: uuid.UUID
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AppendOutcome:
    """What the backend did: appended, found the ids already stored, or found another version."""

    outcome: Literal["appended", "stored", "conflict"]
    stream_version: int
    first_position: int | None = None
    recorded_at: datetime | None = None
