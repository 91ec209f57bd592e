"""Upcasting: old event payloads are lifted to the current schema when read, never rewritten.

The log is append-only, so an event stored under schema version 1 stays version 1 forever.
Readers only ever see the current shape: each registered step lifts a payload from version ``n``
to ``n + 1``, and steps chain, so a change of schema costs one small function and no migration.
"""

from collections.abc import Callable, Mapping
from typing import Any

Payload = dict[str, Any]
UpcastStep = Callable[[Payload], Payload]


class UpcastError(Exception):
    """A stored payload claims a version no chain of steps can lift to the current one."""


class UpcasterRegistry:
    """Current schema version per event type, and the steps that reach it from older versions."""

    def __init__(self) -> None:
        self._current: dict[str, int] = {}
        self._steps: dict[tuple[str, int], UpcastStep] = {}

    def current_version(self, event_type: str) -> int:
        """The version writers must use for ``event_type``; 1 for types that never changed."""
        return self._current.get(event_type, 1)

    def current_versions(self) -> Mapping[str, int]:
        """The current version of every event type that has upcasters; any other type is at 1."""
        return self._current

    def register(self, event_type: str, from_version: int, step: UpcastStep) -> None:
        """Declare that ``step`` lifts ``event_type`` payloads from ``from_version`` to the next."""
        key = (event_type, from_version)
        if key in self._steps:
            raise ValueError(f"an upcaster for {event_type} v{from_version} is already registered")
        self._steps[key] = step
        self._current[event_type] = max(self.current_version(event_type), from_version + 1)

    def upcast(self, event_type: str, schema_version: int, data: Payload) -> tuple[int, Payload]:
        """Lift ``data`` to the current version: (version, payload); ``data`` is untouched."""
        target = self.current_version(event_type)
        if schema_version > target:
            raise UpcastError(
                f"{event_type} v{schema_version} is newer than this code knows (v{target})"
            )
        version, payload = schema_version, data
        while version < target:
            step = self._steps.get((event_type, version))
            if step is None:
                raise UpcastError(f"no upcaster for {event_type} from v{version}")
            payload = step(dict(payload))
            version += 1
        return version, payload
