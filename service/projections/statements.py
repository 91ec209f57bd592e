"""The statement and stance read models, applied a batch of events at a time.

The projection loads what events touch (the open version of each statement; the counting
statements and current stance of each (actor, topic)), applies the events one by one in memory,
and writes the result with a few bulk statements. What it loaded stays valid for as long as the
transaction lasts (nothing else writes these tables meanwhile: the projector holds the checkpoint),
so a rebuild, one long transaction, never reads back what it wrote.

Stance changes are decided per event, so the same log gives the same ``stance_changes`` whatever
the batch boundaries: incremental updating and a rebuild cannot disagree. Payloads are read as
the JSON the domain encodes (``service.domain.events``): building the dataclasses would cost more
than the rest of the projection together.
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, literal, select, tuple_

from service.domain.stances import Stance, is_flip
from service.projections import bulk
from service.projections.pairs import Pair, PairState
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
_FLIPS = {(a.value, b.value): is_flip(a, b) for a in Stance for b in Stance}
_CHUNK = 400
_CLOSE_COLUMNS = ("known_until", "known_until_position")
_VERSION_KEY = ("statement_id", "version_no")
_PAIR_KEY = ("actor_id", "topic_id")


class StatementProjection:
    """Keeps ``statement_versions``, ``stance_pairs``, ``current_stances``, ``stance_changes``."""

    def __init__(self, tables: ReadModelTables) -> None:
        self.tables = tables
        self._open: dict[uuid.UUID, dict[str, Any]] = {}
        self._pairs: dict[Pair, PairState] = {}
        self._inserted: dict[tuple[uuid.UUID, int], dict[str, Any]] = {}
        self._closed: list[dict[str, Any]] = []
        self._dirty: set[Pair] = set()
        self._changes: list[dict[str, Any]] = []
        self._written_changes: list[dict[str, Any]] = []

    def apply(
        self, connection: Connection, events: Sequence[RecordedEvent]
    ) -> list[dict[str, Any]]:
        """Apply ``events`` (in position order) and write them; returns the stance changes."""
        relevant = [event for event in events if event.type in STATEMENT_EVENTS]
        if not relevant:
            return []
        self._written_changes = []
        self._load(connection, relevant)
        for event in relevant:
            self._apply_event(connection, event)
        self._write(connection)
        return self._written_changes

    # --- loading -------------------------------------------------------------------------

    def _load(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        versions = self.tables.statement_versions
        wanted = {
            uuid.UUID(e.data["statement_id"]) for e in events if e.type != "StatementRecorded"
        } - self._open.keys()
        for chunk in _chunks(sorted(wanted), _CHUNK):
            rows = connection.execute(
                select(versions).where(
                    versions.c.statement_id.in_(chunk), versions.c.known_until_position.is_(None)
                )
            )
            for row in rows.mappings():
                self._open[row["statement_id"]] = dict(row)
        pairs: set[Pair] = set()
        for event in events:
            data = event.data
            if "actor_id" in data:
                pairs.add((data["actor_id"], data["topic_id"]))
            previous = self._open.get(uuid.UUID(data["statement_id"]))
            if previous is not None:
                pairs.add((previous["actor_id"], previous["topic_id"]))
                changes = data.get("changes", {})
                pairs.add(
                    (
                        changes.get("actor_id", previous["actor_id"]),
                        changes.get("topic_id", previous["topic_id"]),
                    )
                )
        self._load_pairs(connection, pairs - self._pairs.keys())

    def _load_pairs(self, connection: Connection, wanted: set[Pair]) -> None:
        current, known = self.tables.current_stances, self.tables.stance_pairs
        for chunk in _chunks(sorted(wanted), _CHUNK):
            states = {pair: PairState() for pair in chunk}
            self._pairs.update(states)
            in_chunk = tuple_(known.c.actor_id, known.c.topic_id).in_(chunk)
            for actor, topic in connection.execute(
                select(known.c.actor_id, known.c.topic_id).where(in_chunk)
            ):
                state = states[(actor, topic)]
                state.in_table = state.partial = True
                state.reset(self._top_statements(connection, (actor, topic)))
            rows = connection.execute(
                select(current).where(tuple_(current.c.actor_id, current.c.topic_id).in_(chunk))
            )
            for row in rows.mappings():
                states[(row["actor_id"], row["topic_id"])].current = dict(row)

    def _top_statements(self, connection: Connection, pair: Pair) -> list[tuple[Any, ...]]:
        """The pair's counting statement the rule picks now, and the best one with another
        label: two index seeks, however many statements the pair has."""
        versions = self.tables.statement_versions
        rank = (versions.c.stated_at, versions.c.recorded_position)
        query = (
            select(versions.c.statement_id, *rank, versions.c.stance)
            .where(
                versions.c.actor_id == pair[0],
                versions.c.topic_id == pair[1],
                versions.c.known_until_position.is_(None),
                versions.c.counts.is_(True),
            )
            .order_by(*(column.desc() for column in rank))
            .limit(1)
        )
        best = connection.execute(query).first()
        if best is None:
            return []
        below = query.where(
            versions.c.stance != best.stance,
            tuple_(*rank) < tuple_(literal(best.stated_at, rank[0].type), literal(best[2])),
        )
        found = [best, *connection.execute(below).all()]
        return [(row[0], (row[1], row[2]), row[3]) for row in found]

    def _fresh(self, connection: Connection, pair: Pair) -> PairState:
        """The pair's state with its best statements known; a partial pair that lost one of
        them is reloaded from the database after writing what this batch did so far."""
        state = self._pairs[pair]
        if state.partial and state.stale:
            self._write(connection)
            state.reset(self._top_statements(connection, pair))
        return state

    # --- applying ------------------------------------------------------------------------

    def _pair(self, connection: Connection, pair: Pair) -> PairState:
        """The pair's state; loaded on demand when an event in the batch moved a statement to a
        pair the batch's up-front load could not foresee."""
        if pair not in self._pairs:
            self._load_pairs(connection, {pair})
        return self._pairs[pair]

    def _apply_event(self, connection: Connection, event: RecordedEvent) -> None:
        data = event.data
        statement_id = uuid.UUID(data["statement_id"])
        previous = self._open.get(statement_id)
        if event.type == "StatementRecorded":
            if previous is not None:  # the stream's version 0 is unique; seen only on a replay
                return
            version = _recorded_version(statement_id, data, event)
        elif previous is None:
            raise ValueError(f"{event.type} at {event.position}: no statement {statement_id}")
        else:
            version = _next_version(previous, event)
            self._close(previous, event)
        self._open[statement_id] = version
        self._inserted[(statement_id, version["version_no"])] = version
        pair = (version["actor_id"], version["topic_id"])
        touched = [pair]
        if previous is not None:
            old_pair = (previous["actor_id"], previous["topic_id"])
            if previous["counts"]:
                self._pair(connection, old_pair).remove(statement_id)
            if old_pair != pair:
                touched.insert(0, old_pair)
        if version["counts"]:
            self._pair(connection, pair).add(
                statement_id,
                (version["stated_at"], version["recorded_position"]),
                version["stance"],
            )
        for each in touched:
            self._pair(connection, each)
            self._refresh_current(connection, each, event)

    def _close(self, previous: dict[str, Any], event: RecordedEvent) -> None:
        key = (previous["statement_id"], previous["version_no"])
        if key in self._inserted:  # opened since the last write: close it before it is written
            self._inserted[key]["known_until"] = event.recorded_at
            self._inserted[key]["known_until_position"] = event.position
            return
        self._closed.append(
            {
                "statement_id": previous["statement_id"],
                "version_no": previous["version_no"],
                "known_until": event.recorded_at,
                "known_until_position": event.position,
            }
        )

    def _refresh_current(self, connection: Connection, pair: Pair, event: RecordedEvent) -> None:
        """Recompute the pair's current stance after ``event``; log a change when the label moves.

        ``previous_stance`` is the stance of the latest earlier-stated counting statement with
        another label (valid-time order), the same definition the as-of replay uses, so the
        current matrix and a replay at "now" agree even when old statements arrive late.
        """
        state = self._fresh(connection, pair)
        current = state.current
        best = state.best
        if best is None:
            if current is not None:
                self._record_change(pair, current, None, event)
                state.current = None
                self._dirty.add(pair)
            return
        statement_id, (stated_at, _position), stance = best
        previous = state.previous_label
        if (
            current is not None
            and current["statement_id"] == statement_id
            and current["stance"] == stance
            and current["previous_stance"] == previous
            and current["since"] == stated_at
        ):
            return
        row = {
            "actor_id": pair[0],
            "topic_id": pair[1],
            "stance": stance,
            "score": _SCORES[stance],
            "since": stated_at,
            "statement_id": statement_id,
            "previous_stance": previous,
            "flip": previous is not None and _FLIPS[(previous, stance)],
            "changed_position": current["changed_position"] if current else event.position,
            "updated_position": event.position,
        }
        if current is None or current["stance"] != stance:
            self._record_change(pair, current, row, event)
            row["changed_position"] = event.position
        state.current = row
        self._dirty.add(pair)

    def _record_change(
        self,
        pair: Pair,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        event: RecordedEvent,
    ) -> None:
        from_stance = before["stance"] if before else None
        to_stance = after["stance"] if after else None
        self._changes.append(
            {
                "position": event.position,
                "actor_id": pair[0],
                "topic_id": pair[1],
                "from_stance": from_stance,
                "to_stance": to_stance,
                "flip": bool(from_stance and to_stance and _FLIPS[(from_stance, to_stance)]),
                "statement_id": after["statement_id"] if after else None,
                "previous_statement_id": before["statement_id"] if before else None,
                "since": after["since"] if after else None,
                "event_type": event.type,
                "event_id": event.event_id,
                "recorded_at": event.recorded_at,
            }
        )

    # --- writing -------------------------------------------------------------------------

    def _write(self, connection: Connection) -> None:
        t = self.tables
        # Close first: the open-version index allows one open row per statement.
        bulk.update_rows(
            connection,
            t.statement_versions,
            set_columns=_CLOSE_COLUMNS,
            key_columns=_VERSION_KEY,
            rows=self._closed,
        )
        inserted = sorted(self._inserted.values(), key=lambda row: row["caused_by_position"])
        bulk.insert_rows(connection, t.statement_versions, inserted)
        dirty = sorted(self._dirty)
        new_pairs = [p for p in dirty if not self._pairs[p].in_table]
        bulk.insert_rows(
            connection, t.stance_pairs, [dict(zip(_PAIR_KEY, p, strict=True)) for p in new_pairs]
        )
        for pair in new_pairs:
            self._pairs[pair].in_table = True
        bulk.delete_keys(connection, t.current_stances, key_columns=_PAIR_KEY, keys=dirty)
        rows = [row for pair in dirty if (row := self._pairs[pair].current) is not None]
        bulk.insert_rows(connection, t.current_stances, rows)
        bulk.insert_rows(connection, t.stance_changes, self._changes)
        self._written_changes.extend(self._changes)
        self._inserted, self._closed, self._dirty, self._changes = {}, [], set(), []


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


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
