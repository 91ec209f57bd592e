"""Demo steps and their deterministic ids, so loading the demo twice changes nothing.

Every id is a UUID 5 of a fixed namespace and a readable key: the same key gives the same id on
every machine and every run, so a loader that appends with these ids gets the store's idempotent
no-op for events it already holds.
"""

from dataclasses import dataclass
from uuid import UUID, uuid5

from service.domain.commands import CorrectStatement, DefineTopic, RecordStatement, RegisterActor

DEMO_NAMESPACE = UUID("fb9b5dd6-2f97-4144-904c-c46ec0da1484")

DemoCommand = RegisterActor | DefineTopic | RecordStatement | CorrectStatement


def demo_statement_id(key: str) -> UUID:
    """The statement id of the demo statement named ``key``."""
    return uuid5(DEMO_NAMESPACE, f"statement:{key}")


def demo_event_id(key: str) -> UUID:
    """The event id of the demo step named ``key``."""
    return uuid5(DEMO_NAMESPACE, f"event:{key}")


@dataclass(frozen=True)
class DemoStep:
    """One command of the demo, with the event id its single event must be appended under."""

    key: str
    event_id: UUID
    command: DemoCommand
    note: str | None = None

    @classmethod
    def of(cls, key: str, command: DemoCommand, note: str | None = None) -> "DemoStep":
        return cls(key=key, event_id=demo_event_id(key), command=command, note=note)
