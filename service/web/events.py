"""One line per event of the log, for the recent-events page.

The rule is generic on purpose, so the page's script applies the same one to events arriving
live: who and what (``actor_id``, ``topic_id``), the stance, and the first of quote, reason, name
or title; events of types added later still read sensibly.
"""

from typing import Any, Final, NamedTuple

from service.domain.events import EVENT_TYPES
from service.store.event_store import RecordedEvent
from service.web.scale import stance_label

RECENT_EVENTS: Final = 50
TEXT_KEYS: Final = ("quote", "reason", "name", "title")
KNOWN_TYPES: Final = tuple(sorted(EVENT_TYPES))
"""Server-sent events are named by type, and a browser only hears the names it listens for."""


class EventLine(NamedTuple):
    position: int
    event_type: str
    recorded_at: Any
    actor_id: str | None
    topic_id: str | None
    stance: str | None
    text: str
    recorded_by: str


def _string(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def event_line(event: RecordedEvent) -> EventLine:
    data = event.data if isinstance(event.data, dict) else {}
    text = next((found for key in TEXT_KEYS if (found := _string(data, key))), "")
    stance = _string(data, "stance")
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    return EventLine(
        position=event.position,
        event_type=event.type,
        recorded_at=event.recorded_at,
        actor_id=_string(data, "actor_id"),
        topic_id=_string(data, "topic_id"),
        stance=stance_label(stance) if stance else None,
        text=text,
        recorded_by=_string(metadata, "recorded_by") or "",
    )
