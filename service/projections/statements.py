"""The statement and stance read models, applied a batch of events at a time.

A batch loads what its events touch (the open version of each statement, the counting statements
and current stance of each (actor, topic)), applies the events one by one in memory, then writes
the result with a handful of bulk statements. Stance changes are decided per event, so the same
log gives the same ``stance_changes`` whatever the batch boundaries: incremental updating and a
rebuild cannot disagree.

Payloads are read as the JSON the domain encodes (``service.domain.events``); going through the
dataclasses would cost more than the rest of the projection together.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, tuple_, update

from service.domain.stances import Stance, is_flip
from service.store.event_store import RecordedEvent
from service.store.read_model_tables import ReadModelTables

STATEMENT_EVENTS = frozenset(
    {
        "StatementRecorded",
        "StatementApproved",
        "StatementRejected",
        "StatementCorrected",
        "StatementRetracted",
    }
)
_SCORES = {stance.value: stance.score for stance in Stance}
_CHUNK = 400

Pair = tuple[str, str]
Candidate = tuple[datetime, int, str]  # stated_at, recorded_position, stance


@dataclass
class _Batch:
    """What one batch has loaded and changed; thrown away when the batch is written."""

    open_versions: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    inserted: dict[tuple[uuid.UUID, int], dict[str, Any]] = field(default_factory=dict)
    closed: list[dict[str, Any]] = field(default_factory=list)
    candidates: dict[Pair, dict[uuid.UUID, Candidate]] = field(default_factory=dict)
    current: dict[Pair, dict[str, Any] | None] = field(default_factory=dict)
    current_dirty: set[Pair] = field(default_factory=set)
    changes: list[dict[str, Any]] = field(default_factory=list)
    new_pairs: set[Pair] = field(default_factory=set)


class StatementProjection:
    """Keeps ``statement_versions``, ``stance_pairs``, ``current_stances``, ``stance_changes``."""

    def __init__(self, tables: ReadModelTables) -> None:
        self.tables = tables

    def apply(
        self, connection: Connection, events: Sequence[RecordedEvent]
    ) -> list[dict[str, Any]]:
        """Apply ``events`` (already in position order); returns the stance changes they caused."""
        relevant = [event for event in events if event.type in STATEMENT_EVENTS]
        if not relevant:
            return []
        batch = _Batch()
        self._load(connection, batch, relevant)
        for event in relevant:
            self._apply_event(batch, event)
        self._write(connection, batch)
        return batch.changes

    # --- loading -------------------------------------------------------------------------

    def _load(self, connection: Connection, batch: _Batch, events: Sequence[RecordedEvent]) -> None:
        versions = self.tables.statement_versions
        existing_ids = {
            uuid.UUID(event.data["statement_id"])
            for event in events
            if event.type != "StatementRecorded"
        }
        for chunk in _chunks(sorted(existing_ids), _CHUNK):
            rows = connection.execute(
                select(versions).where(
                    versions.c.statement_id.in_(chunk), versions.c.known_until_position.is_(None)
                )
            )
            for row in rows.mappings():
                batch.open_versions[row["statement_id"]] = dict(row)
        pairs: set[Pair] = {(v["actor_id"], v["topic_id"]) for v in batch.open_versions.values()}
        for event in events:
            data = event.data
            if "actor_id" in data:
                pairs.add((data["actor_id"], data["topic_id"]))
            changes = data.get("changes", {})
            if "actor_id" in changes or "topic_id" in changes:
                previous = batch.open_versions.get(uuid.UUID(data["statement_id"]))
                actor = changes.get("actor_id", previous["actor_id"] if previous else None)
                topic = changes.get("topic_id", previous["topic_id"] if previous else None)
                if actor and topic:
                    pairs.add((actor, topic))
        self._load_pairs(connection, batch, pairs)

    def _load_pairs(self, connection: Connection, batch: _Batch, pairs: Iterable[Pair]) -> None:
        versions, current = self.tables.statement_versions, self.tables.current_stances
        wanted = sorted(set(pairs) - set(batch.current))
        for pair in wanted:
            batch.candidates[pair] = {}
            batch.current[pair] = None
        for chunk in _chunks(wanted, _CHUNK):
            rows = connection.execute(
                select(
                    versions.c.statement_id,
                    versions.c.actor_id,
                    versions.c.topic_id,
                    versions.c.stated_at,
                    versions.c.recorded_position,
                    versions.c.stance,
                ).where(
                    tuple_(versions.c.actor_id, versions.c.topic_id).in_(chunk),
                    versions.c.known_until_position.is_(None),
                    versions.c.counts.is_(True),
                )
            )
            for sid, actor, topic, stated_at, recorded_position, stance in rows:
                batch.candidates[(actor, topic)][sid] = (stated_at, recorded_position, stance)
            rows = connection.execute(
                select(current).where(tuple_(current.c.actor_id, current.c.topic_id).in_(chunk))
            )
            for row in rows.mappings():
                batch.current[(row["actor_id"], row["topic_id"])] = dict(row)

    # --- applying ------------------------------------------------------------------------

    def _apply_event(self, batch: _Batch, event: RecordedEvent) -> None:
        data = event.data
        statement_id = uuid.UUID(data["statement_id"])
        previous = batch.open_versions.get(statement_id)
        if event.type == "StatementRecorded":
            if previous is not None:  # the stream's version 0 is unique; seen only on a replay
                return
            version = _recorded_version(statement_id, data, event)
        elif previous is None:
            raise ValueError(
                f"{event.type} at {event.position} for unknown statement {statement_id}"
            )
        else:
            version = _next_version(previous, event)
            self._close(batch, previous, event)
        batch.open_versions[statement_id] = version
        batch.inserted[(statement_id, version["version_no"])] = version
        touched = {(version["actor_id"], version["topic_id"])}
        if previous is not None:
            touched.add((previous["actor_id"], previous["topic_id"]))
            batch.candidates.setdefault((previous["actor_id"], previous["topic_id"]), {}).pop(
                statement_id, None
            )
        if version["counts"]:
            pair = (version["actor_id"], version["topic_id"])
            batch.candidates.setdefault(pair, {})[statement_id] = (
                version["stated_at"],
                version["recorded_position"],
                version["stance"],
            )
            batch.new_pairs.add(pair)
        for pair in sorted(touched):
            self._refresh_current(batch, pair, event)

    def _close(self, batch: _Batch, previous: dict[str, Any], event: RecordedEvent) -> None:
        key = (previous["statement_id"], previous["version_no"])
        if key in batch.inserted:  # opened earlier in this batch: close it before it is written
            batch.inserted[key]["known_until"] = event.recorded_at
            batch.inserted[key]["known_until_position"] = event.position
        else:
            batch.closed.append(
                {
                    "b_statement_id": previous["statement_id"],
                    "b_version_no": previous["version_no"],
                    "known_until": event.recorded_at,
                    "known_until_position": event.position,
                }
            )

    def _refresh_current(self, batch: _Batch, pair: Pair, event: RecordedEvent) -> None:
        """Recompute the pair's current stance after ``event``; log a change when the label moves.

        ``previous_stance`` is the stance of the latest earlier-stated counting statement with
        another label (valid-time order), the same definition the as-of replay uses, so the
        current matrix and a replay at "now" agree even when old statements arrive late.
        """
        ranked = sorted(
            batch.candidates.get(pair, {}).items(), key=lambda item: item[1][:2], reverse=True
        )
        current = batch.current.get(pair)
        if not ranked:
            if current is not None:
                self._record_change(batch, pair, current, None, event)
                batch.current[pair] = None
                batch.current_dirty.add(pair)
            return
        statement_id, (stated_at, _position, stance) = ranked[0]
        previous = next((c[2] for _, c in ranked[1:] if c[2] != stance), None)
        row = {
            "actor_id": pair[0],
            "topic_id": pair[1],
            "stance": stance,
            "score": _SCORES[stance],
            "since": stated_at,
            "statement_id": statement_id,
            "previous_stance": previous,
            "flip": is_flip(_stance(previous), Stance(stance)),
            "changed_position": current["changed_position"] if current else event.position,
            "updated_position": event.position,
        }
        if current is not None and all(
            current[name] == row[name]
            for name in ("stance", "since", "statement_id", "previous_stance")
        ):
            return
        if current is None or current["stance"] != stance:
            self._record_change(batch, pair, current, row, event)
            row["changed_position"] = event.position
        batch.current[pair] = row
        batch.current_dirty.add(pair)

    def _record_change(
        self,
        batch: _Batch,
        pair: Pair,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        event: RecordedEvent,
    ) -> dict[str, Any]:
        from_stance = before["stance"] if before else None
        to_stance = after["stance"] if after else None
        change = {
            "position": event.position,
            "actor_id": pair[0],
            "topic_id": pair[1],
            "from_stance": from_stance,
            "to_stance": to_stance,
            "flip": is_flip(_stance(from_stance), _stance(to_stance)),
            "statement_id": after["statement_id"] if after else None,
            "previous_statement_id": before["statement_id"] if before else None,
            "since": after["since"] if after else None,
            "event_type": event.type,
            "event_id": event.event_id,
            "recorded_at": event.recorded_at,
        }
        batch.changes.append(change)
        return change

    # --- writing -------------------------------------------------------------------------

    def _write(self, connection: Connection, batch: _Batch) -> None:
        t = self.tables
        versions = t.statement_versions
        if batch.closed:  # close first: the open-version index allows one open row per statement
            connection.execute(
                update(versions)
                .where(
                    and_(
                        versions.c.statement_id == bindparam("b_statement_id"),
                        versions.c.version_no == bindparam("b_version_no"),
                    )
                )
                .values(
                    known_until=bindparam("known_until"),
                    known_until_position=bindparam("known_until_position"),
                ),
                batch.closed,
            )
        if batch.inserted:
            rows = sorted(batch.inserted.values(), key=lambda r: r["caused_by_position"])
            connection.execute(versions.insert(), rows)
        new_pairs = sorted(batch.new_pairs)
        for chunk in _chunks(new_pairs, _CHUNK):
            known = {
                (actor, topic)
                for actor, topic in connection.execute(
                    select(t.stance_pairs.c.actor_id, t.stance_pairs.c.topic_id).where(
                        tuple_(t.stance_pairs.c.actor_id, t.stance_pairs.c.topic_id).in_(chunk)
                    )
                )
            }
            fresh = [{"actor_id": a, "topic_id": b} for a, b in chunk if (a, b) not in known]
            if fresh:
                connection.execute(t.stance_pairs.insert(), fresh)
        self._write_current(connection, batch)
        if batch.changes:
            connection.execute(t.stance_changes.insert(), batch.changes)

    def _write_current(self, connection: Connection, batch: _Batch) -> None:
        current = self.tables.current_stances
        dirty = sorted(batch.current_dirty)
        for chunk in _chunks(dirty, _CHUNK):
            connection.execute(
                current.delete().where(tuple_(current.c.actor_id, current.c.topic_id).in_(chunk))
            )
        rows = [batch.current[pair] for pair in dirty if batch.current[pair] is not None]
        if rows:
            connection.execute(current.insert(), rows)


def _recorded_version(
    statement_id: uuid.UUID, data: dict[str, Any], event: RecordedEvent
) -> dict[str, Any]:
    pending = bool(data["requires_review"])
    return {
        "statement_id": statement_id,
        "version_no": 0,
        "actor_id": data["actor_id"],
        "topic_id": data["topic_id"],
        "stance": data["stance"],
        "score": _SCORES[data["stance"]],
        "quote": data["quote"],
        "stated_at": datetime.fromisoformat(data["stated_at"]),
        "kind": data["kind"],
        "source": data["source"],
        "confidence": data["confidence"],
        "method": data["method"],
        "status": "pending" if pending else "accepted",
        "counts": not pending,
        "reason": None,
        "recorded_position": event.position,
        "recorded_at": event.recorded_at,
        "caused_by_position": event.position,
        "caused_by_type": event.type,
        "known_from": event.recorded_at,
        "known_until": None,
        "known_until_position": None,
    }


def _next_version(previous: dict[str, Any], event: RecordedEvent) -> dict[str, Any]:
    data = event.data
    version = {
        **previous,
        "version_no": previous["version_no"] + 1,
        "caused_by_position": event.position,
        "caused_by_type": event.type,
        "known_from": event.recorded_at,
        "known_until": None,
        "known_until_position": None,
        "reason": data.get("reason", data.get("note")),
    }
    if event.type == "StatementApproved":
        version.update(status="accepted", counts=True)
    elif event.type == "StatementRejected":
        version.update(status="rejected", counts=False)
    elif event.type == "StatementRetracted":
        version.update(status="retracted", counts=False)
    elif event.type == "StatementCorrected":
        changes = data["changes"]
        for name in ("actor_id", "topic_id", "quote", "kind", "source"):
            if name in changes:
                version[name] = changes[name]
        if "stance" in changes:
            version["stance"] = changes["stance"]
            version["score"] = _SCORES[changes["stance"]]
        if "stated_at" in changes:
            version["stated_at"] = datetime.fromisoformat(changes["stated_at"])
    return version


def _stance(label: str | None) -> Stance | None:
    return None if label is None else Stance(label)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
