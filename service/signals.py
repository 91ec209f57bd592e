"""The names of the cross-process signals, shared by the migration that sends them and the
listener that receives them.

On PostgreSQL the database itself sends them (``NOTIFY`` from the append function and from
triggers, see migration 0007), so every writer signals, whatever process or tool it runs in, and a
signal is delivered only when its transaction commits. Each channel ends with the schema, so two
deployments in one database never wake each other.
"""

from enum import StrEnum


class Purpose(StrEnum):
    """What a signal announces; its payload is given with each member."""

    EVENTS = "events"  # the log grew; payload: its last position
    PROJECTED = "projected"  # a projection checkpoint moved; payload: "name:position"
    OUTBOX = "outbox"  # webhook deliveries were queued; payload empty


def channel(purpose: Purpose, schema: str) -> str:
    """The channel of ``purpose`` in ``schema``, as migration 0007 spells it."""
    return f"stance.{purpose.value}.{schema}"


def parse_projected(payload: str) -> tuple[str, int] | None:
    """``("read_models", 42)`` from ``"read_models:42"``; ``None`` for anything else."""
    name, _, position = payload.rpartition(":")
    return (name, int(position)) if name and position.isdigit() else None
