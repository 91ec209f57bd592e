"""Where an event changed the stance the record gives for some valid time, for ``stance.revised``.

The projection compares a pair's segments inside a window of valid time before and after each
event (``StatementProjection._move``). Segments that differ there are where *anything* the record
says moved: a quote, a status, the statement behind an answer. Subscribers are told only when the
stance label for some valid time moved, the same rule ``stance.changed`` follows for the current
stance, so a quote fix or a late statement that agrees with its neighbours announces nothing.

Only corrections and retractions revise (``REVISING_EVENTS``): they fix what the record already
said. A statement that enters the record late (recorded with an old ``stated_at``, or approved
after review) adds history rather than fixing it; announcing those would turn every backfill, or
a feed read newest item first, into one message per statement, and skipping them keeps the cost
off the busiest path. Whatever any event does to the current stance is a stance change all the
same. A revision is kept only when the event left the current stance's label alone: a pair whose
current stance moved is news (``stance.changed``), and one event never says both for one pair.
Like stance changes, revisions are decided per event from the pair's timeline just before and
just after it, so the batch boundaries cannot change them.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service.domain.stances import Stance, is_flip
from service.projections.pairs import Pair, Segment, Window

_FLIPS = {(a.value, b.value): is_flip(a, b) for a in Stance for b in Stance}

REVISION_CAUSES = {"StatementCorrected": "corrected", "StatementRetracted": "retracted"}
"""The events that can revise a stance in the past, with the ``cause`` a ``stance.revised``
message names (StatementRejected cannot revise: it only ever refuses a statement that was
waiting for review, which never counted)."""
REVISING_EVENTS = frozenset(REVISION_CAUSES)

Piece = tuple[datetime, datetime | None, Segment | None]
"""Valid times [start, end) (end None: unbounded) and what answers them (None: no stance)."""


def is_revision(change: dict[str, Any]) -> bool:
    """Whether a dict the projection hands its change hooks is a revision, not a stance change."""
    return "stretches" in change


def revision(
    pair: Pair,
    window: Window,
    before: dict[datetime, Segment],
    after: dict[datetime, Segment],
    *,
    position: int,
    event_type: str,
    event_id: Any,
    recorded_at: datetime,
) -> dict[str, Any] | None:
    """The revision of ``pair`` by one event, or None when no stance label moved.

    ``before`` and ``after`` are the pair's segments starting inside ``window`` (as
    ``Timeline.segments`` gives them); valid times in the window that no segment covers have no
    stance (before the pair's first statement).
    """
    found = stretches(window, before, after)
    if not found:
        return None
    return {
        "position": position,
        "actor_id": pair[0],
        "topic_id": pair[1],
        "flip": any(stretch["flip"] for stretch in found),
        "stretches": found,
        "event_type": event_type,
        "event_id": event_id,
        "recorded_at": recorded_at,
    }


def stretches(
    window: Window, before: dict[datetime, Segment], after: dict[datetime, Segment]
) -> list[dict[str, Any]]:
    """The stretches of valid time, in order, where the label before differs from the label
    after, each with the stance on both sides.

    A stretch is where one segment answered before and one answers after, so its snapshots are
    exact; neighbouring stretches are not merged even when their labels match, since the
    statement (and its ``since``) behind them differs.
    """
    old, new = _pieces(window, before), _pieces(window, after)
    found: list[dict[str, Any]] = []
    i = j = 0
    start = window[0]
    while i < len(old) and j < len(new):
        old_end, new_end = old[i][1], new[j][1]
        end = _earlier(old_end, new_end)
        was, now = old[i][2], new[j][2]
        if _label(was) != _label(now) and (end is None or start < end):
            found.append(
                {
                    "valid_from": start,
                    "valid_until": end,
                    "before": _snapshot(was),
                    "after": _snapshot(now),
                    "flip": was is not None
                    and now is not None
                    and _FLIPS[(was.version["stance"], now.version["stance"])],
                }
            )
        if end is None:
            break
        if old_end == end:
            i += 1
        if new_end == end:
            j += 1
        start = end
    return found


def without_changed(
    revisions: Sequence[dict[str, Any]], changes: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``revisions`` less those of pairs whose current stance the same event changed."""
    changed = {(change["actor_id"], change["topic_id"]) for change in changes}
    return [r for r in revisions if (r["actor_id"], r["topic_id"]) not in changed]


def _pieces(window: Window, found: dict[datetime, Segment]) -> list[Piece]:
    """The window cut into what answers each part of it; the segments tile it from the first
    one's start (each ends where the next begins), and before that there is no stance."""
    low, high = window
    pieces: list[Piece] = []
    cursor: datetime | None = low
    for start in sorted(found):
        segment = found[start]
        if cursor is not None and start > cursor:
            pieces.append((cursor, start, None))
        pieces.append((start, segment.valid_until, segment))
        cursor = segment.valid_until
    if cursor is not None and (high is None or cursor < high):
        pieces.append((cursor, high, None))
    return pieces


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _label(segment: Segment | None) -> str | None:
    return None if segment is None else segment.version["stance"]


def _snapshot(segment: Segment | None) -> dict[str, Any] | None:
    if segment is None:
        return None
    return {
        "stance": segment.version["stance"],
        "since": segment.valid_from,
        "statement_id": segment.version["statement_id"],
    }
