"""Loads the demo data set through the command bus, as any other writer would.

Each step carries a fixed event id, so a second load finds every event already stored and
appends nothing.
"""

from dataclasses import dataclass
from datetime import datetime

from service.commands import CommandBus
from service.demo.seed import demo_commands
from service.domain.commands import CorrectStatement


@dataclass(frozen=True)
class DemoLoadReport:
    appended: int
    already_stored: int
    article_known_at: datetime | None
    """The transaction time of the article's last event: the record before any correction."""
    corrected_at: datetime | None
    """The transaction time of the first correction."""


def load_demo(bus: CommandBus, *, recorded_by: str = "demo") -> DemoLoadReport:
    appended = already = 0
    steps = demo_commands()
    for step in steps:
        metadata = {"recorded_by": recorded_by, "demo_step": step.key}
        if step.note:
            metadata["note"] = step.note
        result = bus.execute(step.command, event_id=step.event_id, metadata=metadata)
        if result.duplicate:
            already += 1
        else:
            appended += 1
    first_correction = next(s for s in steps if isinstance(s.command, CorrectStatement))
    article_known_at, corrected_at = _times_around(bus, first_correction.event_id)
    return DemoLoadReport(appended, already, article_known_at, corrected_at)


def _times_around(bus: CommandBus, event_id: object) -> tuple[datetime | None, datetime | None]:
    """Transaction times of the event before ``event_id`` and of ``event_id`` itself."""
    store = bus.context.store
    with bus.database.read() as session:
        found = store.read_by_ids(session, [event_id])  # type: ignore[list-item]
        if not found:
            return None, None
        before = store.read_all(session, after=found[0].position - 2, limit=1)
    return (before[0].recorded_at if before else None), found[0].recorded_at
