"""The statement and stance read models, applied a batch of events at a time.

The projection loads what events touch (the open version of each statement; the counting
statements and current stance of each (actor, topic)), applies the events one by one in memory,
and writes the result with a few bulk statements. What it loaded stays valid for as long as the
transaction lasts (nothing else writes these tables meanwhile: the projector holds the checkpoint).

Stance changes are decided per event, so the same log gives the same ``stance_changes`` whatever
the batch boundaries: incremental updating and a rebuild cannot disagree. So are revisions (a
correction or retraction that moved the stance for some past valid time but not the current one,
see ``service.projections.revisions``), which go to the change hooks with the changes and are
not stored; a rebuild or verify does not compute them. Payloads are read as
the JSON the domain encodes (``service.domain.events``): building the dataclasses would cost more
than the rest of the projection together.
"""

import hashlib
import struct
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from service.domain.stances import Stance
from service.projections import bulk, loads, revisions
from service.projections.errors import LogNotReplayable
from service.projections.pairs import (
    CHANGE_COLUMNS,
    Pair,
    Segment,
    Timeline,
    Window,
    current_after,
    stance_change,
    touched_pairs,
)
from service.store import interval_index
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
_CLOSE_COLUMNS = ("known_until", "known_until_position")
_VERSION_KEY = ("statement_id", "version_no")
_PAIR_KEY = ("actor_id", "topic_id")
_RECTANGLE_KEY = ("actor_id", "topic_id", "valid_lo")
_RECTANGLE_CLOSE_COLUMNS = ("known_until_position",)


class StatementProjection:
    """Keeps ``statement_versions``, ``stance_pairs``, ``current_stances``, ``stance_changes``
    and ``stance_intervals`` as the log grows, a batch at a time; a rebuild or verify replays
    the log from position 0 with ``service.projections.rebuild`` instead, to the same rows.
    """

    def __init__(self, tables: ReadModelTables) -> None:
        self.tables = tables
        self._open: dict[uuid.UUID, dict[str, Any]] = {}
        self._pairs: dict[Pair, Timeline] = {}
        self._inserted: dict[tuple[uuid.UUID, int], dict[str, Any]] = {}
        self._closed: list[dict[str, Any]] = []
        self._dirty: set[Pair] = set()
        self._changes: list[dict[str, Any]] = []
        self._written_changes: list[dict[str, Any]] = []
        self._revisions: list[dict[str, Any]] = []
        self._open_intervals: dict[tuple[Pair, datetime], dict[str, Any]] = {}
        self._finished_intervals: list[dict[str, Any]] = []
        self._closed_intervals: list[dict[str, Any]] = []

    def apply(
        self, connection: Connection, events: Sequence[RecordedEvent]
    ) -> list[dict[str, Any]]:
        """Apply ``events`` (in position order) and write them; returns the stance changes, then
        the revisions (``revisions.is_revision`` tells them apart)."""
        relevant = [event for event in events if event.type in STATEMENT_EVENTS]
        if not relevant:
            return []
        self._written_changes = []
        self._load(connection, relevant)
        for event in relevant:
            self._apply_event(connection, event)
        self._write(connection)
        revised, self._revisions = self._revisions, []
        return self._written_changes + revised

    # --- loading -------------------------------------------------------------------------

    def _load(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        versions = self.tables.statement_versions
        wanted = {
            uuid.UUID(e.data["statement_id"]) for e in events if e.type != "StatementRecorded"
        } - self._open.keys()
        for chunk in _chunks(sorted(wanted), _CHUNK):
            open_versions = loads.rows_of_ids(
                connection, versions, "statement_id", chunk, where="known_until_position IS NULL"
            )
            for row in open_versions:
                self._open[row["statement_id"]] = row
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
        """The pairs' counting statements (open versions) and current stances: one index range
        per pair (``loads.rows_of_pairs``), the pair's rows only."""
        current, known = self.tables.current_stances, self.tables.stance_pairs
        versions = self.tables.statement_versions
        counts = f"{loads.is_true(connection, 'counts')} AND known_until IS NULL"
        for chunk in _chunks(sorted(wanted), _CHUNK):
            stored = {
                (row["actor_id"], row["topic_id"])
                for row in loads.rows_of_pairs(connection, known, chunk)
            }
            counting: dict[Pair, list[dict[str, Any]]] = {pair: [] for pair in stored}
            for row in loads.rows_of_pairs(connection, versions, sorted(stored), where=counts):
                version = self._open.setdefault(row["statement_id"], row)
                counting[(row["actor_id"], row["topic_id"])].append(version)
            for pair in chunk:
                timeline = Timeline(counting.get(pair))
                timeline.in_table = pair in stored
                self._pairs[pair] = timeline
            for row in loads.rows_of_pairs(connection, current, chunk):
                self._pairs[(row["actor_id"], row["topic_id"])].current = row

    # --- applying ------------------------------------------------------------------------

    def _pair(self, connection: Connection, pair: Pair) -> Timeline:
        """The pair's timeline; loaded on demand when an event in the batch moved a statement to
        a pair the batch's up-front load could not foresee."""
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
            raise LogNotReplayable(event.type, event.position, statement_id)
        else:
            version = _next_version(previous, event)
            self._close(previous, event)
        self._open[statement_id] = version
        self._inserted[(statement_id, version["version_no"])] = version
        touched = {
            each: (self._pair(connection, each), take, put)
            for each, take, put in touched_pairs(previous, version)
        }
        opened: list[tuple[Pair, Segment]] = []
        revised = len(self._revisions)
        for each, (timeline, take, put) in touched.items():
            if take is not None or put is not None:
                opened.extend(self._move(each, timeline, take, put, event))
        self._open_rectangles(opened, event)
        changed = len(self._changes)
        for each in touched:
            self._refresh_current(connection, each, event)
        if len(self._changes) > changed and len(self._revisions) > revised:
            self._revisions[revised:] = revisions.without_changed(
                self._revisions[revised:], self._changes[changed:]
            )

    def _move(
        self,
        pair: Pair,
        timeline: Timeline,
        removed: dict[str, Any] | None,
        added: dict[str, Any] | None,
        event: RecordedEvent,
    ) -> list[tuple[Pair, Segment]]:
        """Take ``removed`` out of the pair and put ``added`` in; close the rectangles whose
        answer moved and return the segments to open in their place. Notes the revision, if
        a stance label moved (only corrections and retractions can, and they are always
        compared segment by segment, ``Timeline.change``)."""
        closed, opened, _top, move = timeline.change(removed, added, event.position)
        for start in closed:
            self._close_rectangle(pair, start, event)
        if move is not None and event.type in revisions.REVISING_EVENTS:
            self._note_revision(pair, move.window, move.before, move.after, event)
        return [(pair, segment) for segment in opened]

    def _note_revision(
        self,
        pair: Pair,
        window: Window,
        before: dict[datetime, Segment],
        after: dict[datetime, Segment],
        event: RecordedEvent,
    ) -> None:
        found = revisions.revision(
            pair,
            window,
            before,
            after,
            position=event.position,
            event_type=event.type,
            event_id=event.event_id,
            recorded_at=event.recorded_at,
        )
        if found is not None:
            self._revisions.append(found)

    def _close_rectangle(self, pair: Pair, start: datetime, event: RecordedEvent) -> None:
        row = self._open_intervals.pop((pair, start), None)
        if row is not None:  # opened since the last write: close it before it is written
            if row["known_from_position"] == event.position:
                return  # opened and closed by the same event: no state of knowledge saw it
            row["known_until_position"] = event.position
            self._finished_intervals.append(row)
            return
        self._closed_intervals.append(
            {
                "known_until_position": event.position,
                "actor_id": pair[0],
                "topic_id": pair[1],
                "valid_lo": interval_index.micros(start),
            }
        )

    def _open_rectangles(self, opened: list[tuple[Pair, Segment]], event: RecordedEvent) -> None:
        """Open the event's new rectangles."""
        for pair, segment in opened:
            node, lo, hi = interval_index.valid_key(segment.valid_from, segment.valid_until)
            self._open_intervals[(pair, segment.valid_from)] = {
                "interval_id": rectangle_id(segment, lo, hi, event.position),
                "actor_id": pair[0],
                "topic_id": pair[1],
                "valid_node": node,
                "valid_lo": lo,
                "valid_hi": hi,
                "known_from_position": event.position,
                "known_until_position": None,
                "version_position": segment.version["caused_by_position"],
                "previous_stance": segment.previous_stance,
            }

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
        """The pair's current stance after ``event``; a change is logged when its label moves."""
        state = self._pair(connection, pair)
        update = current_after(state, event.position)
        if update is None:
            return
        after, moved = update
        row = None if after is None else {"actor_id": pair[0], "topic_id": pair[1], **after}
        if moved:
            self._record_change(pair, state.current, row, event)
        state.current = row
        self._dirty.add(pair)

    def _record_change(
        self,
        pair: Pair,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        event: RecordedEvent,
    ) -> None:
        row = stance_change(pair, before, after, event)
        self._changes.append(dict(zip(CHANGE_COLUMNS, row, strict=True)))

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
        # Close first: the open-rectangle index allows one open row per (pair, valid_lo).
        bulk.update_rows(
            connection,
            t.stance_intervals,
            set_columns=_RECTANGLE_CLOSE_COLUMNS,
            key_columns=_RECTANGLE_KEY,
            rows=self._closed_intervals,
            where_open=True,
        )
        rows = self._finished_intervals
        rows.extend(self._open_intervals.values())
        self._open_intervals = {}
        bulk.insert_rows(connection, t.stance_intervals, rows)
        self._finished_intervals, self._closed_intervals = [], []


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
        _SAID: None,
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
        _SAID: None,
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


def rectangle_id(segment: Segment, lo: int, hi: int, position: int) -> int:
    """63 bits of BLAKE2b over everything a rectangle says but when it closes, as a positive
    BIGINT: equal ids mean equal answers, which lets readers cache cells by id. Two rectangles
    of one database share an id with a chance of about n**2 / 2**64 (1e-8 for 500,000).

    What a rectangle says is its version's columns (``_version_digest``: the pair, the stance,
    the statement and the rest of what a cell shows), its valid range (``lo`` and ``hi``, as
    ``interval_index.valid_key`` gives them), the position that opened it and the previous
    stance. The version's part is digested once per version, as 16 bytes, and the rectangle
    digests those with its own numbers packed as fixed-width integers: one short hash per
    rectangle. Revision 0011 moved to this from one JSON array of everything per rectangle,
    which took half of a rebuild's second pass (2.7 against 1.1 µs a rectangle)."""
    version = segment.version
    said = version.get(_SAID)
    if said is None:
        said = version[_SAID] = _version_digest(version)
    previous = segment.previous_stance
    label = _LABELS.get(previous)
    if label is None:
        label = _LABELS[previous] = previous.encode()  # type: ignore[union-attr]
    digest = _blake2b(said + _BOUNDS(lo, hi, position) + label, digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


_SAID = " said"
"""Key under which a version dict keeps the digest of what its rectangles say of it
(``_version_digest``). Every new version sets it to None (``_recorded_version``,
``_next_version``): each says something else, if only the position that caused it."""
_LABELS: dict[str | None, bytes] = {None: b""}
"""The previous stance as the digest's last bytes: a label's letters, none for no previous
stance (what precedes it has a fixed width, so the two cannot be confused)."""
_BOUNDS = struct.Struct(">QQQ").pack
"""The valid range and the opening position, as three unsigned 64-bit integers."""
_blake2b = hashlib.blake2b


def _version_digest(version: dict[str, Any]) -> bytes:
    """16 bytes of BLAKE2b over the JSON array of the version's columns that its rectangles
    show: pair, stance, score, statement id (as ``str`` spells it: orjson encodes
    ``uuid.UUID`` so), the position that caused it, quote, kind, source (keys sorted: read back
    from jsonb they come in another order) and status."""
    said = orjson.dumps(
        (
            version["actor_id"],
            version["topic_id"],
            version["stance"],
            version["score"],
            version["statement_id"],
            version["caused_by_position"],
            version["quote"],
            version["kind"],
            version["source"],
            version["status"],
        ),
        option=orjson.OPT_SORT_KEYS,
    )
    return _blake2b(said, digest_size=16).digest()


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
