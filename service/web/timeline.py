"""The timeline of one (actor, topic): its statements as the record knew them, each with the
revisions it went through, and the changes of its stance.

Every version of a statement carries the transaction-time range it was believed in, so the
record "as known at K" is, per statement, its last version recorded by K. A statement that was
corrected away to another actor or topic stays on this timeline, marked as moved: the record did
once say it here, and a reader comparing replays needs to see why a stance vanished.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any, Final, NamedTuple

from service.queries import StanceChangeView, StatementVersionView, StatementView
from service.web.scale import kind_label, stance_label
from service.web.templating import day

REVISION_LABELS: Final = {
    "StatementRecorded": "Recorded",
    "StatementCorrected": "Correction",
    "StatementRetracted": "Retraction",
    "StatementApproved": "Approved on review",
    "StatementRejected": "Rejected on review",
}

Namer = Callable[[str], str]


class Note(NamedTuple):
    """One revision of a statement: what it changed, when it was recorded, and why."""

    label: str
    event_type: str
    recorded_at: datetime
    changes: list[str]
    reason: str | None


@dataclass(frozen=True)
class Entry:
    statement_id: str
    version: StatementVersionView
    """The latest version known at K; for a statement moved away, its last version here."""
    recorded_at: datetime
    confidence: float
    method: str
    notes: list[Note]
    later_revisions: int
    moved_to: str | None
    """Where a correction moved it, when the version shown is no longer on this pair."""
    moved_from: str | None
    """Where it was first attributed, when a correction moved it onto this pair."""
    after_as_of: bool

    @property
    def anchor(self) -> str:
        return f"st-{self.statement_id}"

    @property
    def retracted(self) -> bool:
        return self.version.status == "retracted"


class ChangeRow(NamedTuple):
    change: StanceChangeView
    label: str
    anchor: str | None


@dataclass(frozen=True)
class Timeline:
    entries: list[Entry]
    not_yet_recorded: int
    changes: list[ChangeRow]
    later_changes: int


def _quoted(text: str, limit: int = 80) -> str:
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def _source_name(source: dict[str, Any]) -> str:
    for key in ("title", "publisher", "url"):
        value = source.get(key)
        if isinstance(value, str) and value:
            return value
    return "a source"


def _changes(
    before: StatementVersionView, after: StatementVersionView, actor: Namer, topic: Namer
) -> list[str]:
    found = []
    if before.actor_id != after.actor_id:
        found.append(f"said by {actor(after.actor_id)}, not {actor(before.actor_id)}")
    if before.topic_id != after.topic_id:
        found.append(f"on {topic(after.topic_id)}, not {topic(before.topic_id)}")
    if before.stated_at != after.stated_at:
        found.append(f"stated {day(after.stated_at)}, not {day(before.stated_at)}")
    if before.stance != after.stance:
        found.append(f"{stance_label(after.stance)}, not {stance_label(before.stance)}")
    if before.kind != after.kind:
        found.append(f"a {kind_label(after.kind)}, not a {kind_label(before.kind)}")
    if before.quote != after.quote:
        found.append(f"quote now {_quoted(after.quote)}")
    if before.source != after.source:
        found.append(f"source now {_source_name(after.source)}")
    if before.status != after.status:
        found.append(f"{after.status.replace('_', ' ')}, was {before.status.replace('_', ' ')}")
    return found


def _note(
    before: StatementVersionView, after: StatementVersionView, actor: Namer, topic: Namer
) -> Note:
    return Note(
        label=REVISION_LABELS.get(after.caused_by_type, after.caused_by_type),
        event_type=after.caused_by_type,
        recorded_at=after.known_from,
        changes=_changes(before, after, actor, topic),
        reason=after.reason,
    )


def _on(version: StatementVersionView, actor_id: str, topic_id: str) -> bool:
    return version.actor_id == actor_id and version.topic_id == topic_id


def _last_on(
    versions: Sequence[StatementVersionView], actor_id: str, topic_id: str
) -> StatementVersionView:
    return next(v for v in reversed(versions) if _on(v, actor_id, topic_id))


def _where(version: StatementVersionView, actor: Namer, topic: Namer) -> str:
    return f"{actor(version.actor_id)} on {topic(version.topic_id)}"


def build_entries(
    statements: Sequence[StatementView],
    *,
    actor_id: str,
    topic_id: str,
    as_of: datetime | None,
    known_at: datetime | None,
    actor: Namer,
    topic: Namer,
) -> tuple[list[Entry], int]:
    """The entries in stated order, and how many statements the record had not yet at K."""
    entries, not_yet = [], 0
    for view in statements:
        known = [v for v in view.versions if known_at is None or v.known_from <= known_at]
        if not any(_on(v, actor_id, topic_id) for v in known):
            not_yet += 1  # recorded after K, or moved onto this pair only after K
            continue
        latest, first = known[-1], known[0]
        # Moved away: show it as it stood here, struck through, and say where it went.
        shown = latest if _on(latest, actor_id, topic_id) else _last_on(known, actor_id, topic_id)
        entries.append(
            Entry(
                statement_id=str(view.statement_id),
                version=shown,
                recorded_at=first.known_from,
                confidence=view.confidence,
                method=view.method,
                notes=[_note(a, b, actor, topic) for a, b in pairwise(known)],
                later_revisions=len(view.versions) - len(known),
                moved_to=None if latest is shown else _where(latest, actor, topic),
                moved_from=None if _on(first, actor_id, topic_id) else _where(first, actor, topic),
                after_as_of=as_of is not None and shown.stated_at > as_of,
            )
        )
    entries.sort(key=lambda entry: (entry.version.stated_at, entry.recorded_at))
    return entries, not_yet


def build_changes(
    history: Sequence[StanceChangeView], *, known_at: datetime | None, shown_ids: set[str]
) -> tuple[list[ChangeRow], int]:
    """Changes of the current stance in the order the record learned them, up to K."""
    rows, later = [], 0
    for change in history:
        if known_at is not None and change.recorded_at > known_at:
            later += 1
            continue
        statement = change.statement_id or change.previous_statement_id
        anchor = f"st-{statement}" if statement and str(statement) in shown_ids else None
        label = REVISION_LABELS.get(change.event_type, change.event_type)
        rows.append(ChangeRow(change, label, anchor))
    return rows, later


def build_timeline(
    statements: Sequence[StatementView],
    history: Sequence[StanceChangeView],
    *,
    actor_id: str,
    topic_id: str,
    as_of: datetime | None,
    known_at: datetime | None,
    actor: Namer,
    topic: Namer,
) -> Timeline:
    entries, not_yet = build_entries(
        statements,
        actor_id=actor_id,
        topic_id=topic_id,
        as_of=as_of,
        known_at=known_at,
        actor=actor,
        topic=topic,
    )
    changes, later = build_changes(
        history, known_at=known_at, shown_ids={entry.statement_id for entry in entries}
    )
    return Timeline(entries=entries, not_yet_recorded=not_yet, changes=changes, later_changes=later)
