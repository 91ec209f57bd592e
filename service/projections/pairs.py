"""Per (actor, topic): the counting statements in the stance rule's order, and their segments.

The stance rule ranks a pair's counting statements by (stated_at, recorded_position). As known
at one moment, they cut valid time into segments: statement i answers every valid time from its
``stated_at`` up to the next one's, unless a statement ranked above it was stated at the same
instant (then it answers none). Its previous stance is the label of the nearest statement ranked
below it that says something else. The current stance is the segment of the top statement.

Adding or removing one statement changes only the segments from the one just below it up to the
end of the run of equal labels just above it (statements further up keep their previous stance:
their walk down stops before reaching the change). ``Timeline`` answers with that window in valid
time, and the projection compares the segments inside it before and after, so one write costs
a few list operations however long the pair's history is.
"""

from bisect import bisect_left
from collections.abc import Iterator
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

from service.domain.stances import Stance, is_flip

Pair = tuple[str, str]
Entry = tuple[datetime, int, str, dict[str, Any]]
"""stated_at, recorded_position (the rule's order), stance, and the statement's version row.

Searched for by the bare (stated_at, recorded_position): a tuple orders before every longer one
it begins, so ``bisect_left`` lands where a search by rank would, and never compares the
stances or versions (ranks are unique); without a key function, which would build a tuple
per comparison."""


class Segment(NamedTuple):
    """Who answers for valid times [valid_from, valid_until) in one state of knowledge."""

    valid_from: datetime
    valid_until: datetime | None
    version: dict[str, Any]
    previous_stance: str | None


Window = tuple[datetime, datetime | None]
"""Valid times [low, high) whose segments a change may have moved; None: no upper bound."""


class Move(NamedTuple):
    """What one event did to a pair: the window of valid time it may have changed, and the
    segments starting inside it before and after."""

    window: Window
    before: dict[datetime, Segment]
    after: dict[datetime, Segment]

    def closed(self) -> list[datetime]:
        """Where the segments that no longer give the same answer start."""
        after = self.after
        return [
            start
            for start, old in self.before.items()
            if (new := after.get(start)) is None or not _same(old, new)
        ]

    def opened(self) -> list[Segment]:
        """The segments that give a new answer, to open in their place."""
        before = self.before
        return [
            new
            for start, new in self.after.items()
            if (old := before.get(start)) is None or not _same(old, new)
        ]


def _same(old: Segment, new: Segment) -> bool:
    """Whether two segments starting at the same valid time give the same answer: the same end,
    previous stance and version (versions compare by the event that made them; mostly it is the
    very same dict on both sides). On tuple indexes: two tests per segment of every event."""
    if old[1] != new[1] or old[3] != new[3]:
        return False
    was, now = old[2], new[2]
    return was is now or was["caused_by_position"] == now["caused_by_position"]


Newest = tuple[list[datetime], list[Segment], bool]
"""What ``Timeline.insert_newest`` did: where the segments it ended start, the segments to
open in their place, and whether it may have moved the pair's current stance (the top
statement or its previous stance)."""


class Timeline:
    """The counting statements of one pair, in rank order, and its row in ``current_stances``."""

    __slots__ = ("current", "entries", "in_table")

    def __init__(self, versions: list[dict[str, Any]] | None = None) -> None:
        self.entries: list[Entry] = sorted(
            (v["stated_at"], v["recorded_position"], v["stance"], v) for v in versions or ()
        )
        self.current: dict[str, Any] | None = None
        self.in_table = False

    def add(self, version: dict[str, Any]) -> Window:
        """Insert a counting version; returns the window of valid time it may have changed
        (the same bounds hold before and after)."""
        rank = (version["stated_at"], version["recorded_position"])
        index = bisect_left(self.entries, rank)
        window = self._window(index, rank[0], index)
        self.entries.insert(index, (*rank, version["stance"], version))
        return window

    def remove(self, version: dict[str, Any]) -> Window:
        """Take a version out (it stopped counting or was corrected); returns its window."""
        rank = (version["stated_at"], version["recorded_position"])
        index = bisect_left(self.entries, rank)
        if index == len(self.entries) or _rank(self.entries[index]) != rank:
            raise ValueError(f"no counting statement ranked {rank} on this pair")
        window = self._window(index, rank[0], index + 1)
        del self.entries[index]
        return window

    def insert(self, version: dict[str, Any]) -> Move:
        """``add``, answering the move: one search where ``add``, ``remove``, ``segments`` and
        ``add`` again take three (a replay's commonest step). The segments before and after
        are those of the entries between the one below the change and the end of the run above
        it, by index: the entries stated at the instant of either bound but not last of it have
        no segment, so this is what searching for the bounds would find."""
        entries = self.entries
        rank = (version["stated_at"], version["recorded_position"])
        index = bisect_left(entries, rank)
        end = _run_end(entries, index)
        low = entries[index - 1][0] if index > 0 else rank[0]
        start = index - 1 if index > 0 else 0
        high = entries[end][0] if end < len(entries) else None
        before = _segments(entries, start, end)
        entries.insert(index, (*rank, version["stance"], version))
        return Move((low, high), before, _segments(entries, start, end + 1))

    def delete(self, version: dict[str, Any]) -> Move:
        """``remove``, answering the move as ``insert`` does."""
        entries = self.entries
        rank = (version["stated_at"], version["recorded_position"])
        index = bisect_left(entries, rank)
        if index == len(entries) or _rank(entries[index]) != rank:
            raise ValueError(f"no counting statement ranked {rank} on this pair")
        end = _run_end(entries, index + 1)
        low = entries[index - 1][0] if index > 0 else rank[0]
        start = index - 1 if index > 0 else 0
        high = entries[end][0] if end < len(entries) else None
        before = _segments(entries, start, end)
        del entries[index]
        return Move((low, high), before, _segments(entries, start, end - 1))

    def insert_newest(self, version: dict[str, Any]) -> Newest:
        """``insert`` for a statement recorded after every one the pair holds, the log's
        commonest event: its position ranks it above the statements stated at its instant, so
        what it moves is known without comparing segments. The statement ranked just below
        it ends where it starts (and answers nothing if stated at the same instant); it answers
        up to the next statement; and the run of equal labels above it, when that run's label
        is not its own, now has it as previous stance (a change when that was another label).
        Statements further up keep their segments, as ``insert`` would find."""
        entries = self.entries
        stated_at, label = version["stated_at"], version["stance"]
        position = version["recorded_position"]
        index = bisect_left(entries, (stated_at, position))
        count = len(entries)
        closed: list[datetime] = []
        opened: list[Segment] = []
        if index:
            below_at, _position, below_label, below_version = entries[index - 1]
            closed.append(below_at)
            if stated_at > below_at:
                previous = _label_below(entries, index - 1, below_label)
                opened.append(_new(Segment, (below_at, stated_at, below_version, previous)))
        above = entries[index][0] if index < count else None
        previous = _label_below(entries, index, label)
        opened.append(_new(Segment, (stated_at, above, version, previous)))
        top = index == count
        if (
            not top
            and (run_label := entries[index][2]) != label
            and _label_below(entries, index, run_label) != label
        ):
            end = _run_end(entries, index)
            top = end == count
            last = count - 1
            for at_index in range(index, end):
                at, _position, _label, run_version = entries[at_index]
                until = None if at_index == last else entries[at_index + 1][0]
                if until is None or until > at:  # else stated with the next: no segment
                    closed.append(at)
                    opened.append(_new(Segment, (at, until, run_version, label)))
        entries.insert(index, (stated_at, position, label, version))
        return closed, opened, top

    def change(
        self, removed: dict[str, Any] | None, added: dict[str, Any] | None, position: int
    ) -> tuple[list[datetime], list[Segment], bool, Move | None]:
        """Take ``removed`` out and put ``added`` in (either may be None, not both) for the
        event at ``position``: where the segments that no longer give the same answer start,
        the segments to open in their place, whether the pair's current stance may have moved,
        and the comparison of segments when one was made (revisions read its window). A
        statement recorded by this very event is newer than every one the pair holds and
        enters by ``insert_newest``; any other change (an approval after review, a correction,
        a retraction) is compared by ``move``. The one dispatch the incremental projection and
        the rebuild share."""
        if removed is None and added is not None and added["recorded_position"] == position:
            closed, opened, top = self.insert_newest(added)
            return closed, opened, top, None
        move = self.move(removed, added)
        return move.closed(), move.opened(), True, move

    def move(self, removed: dict[str, Any] | None, added: dict[str, Any] | None) -> Move:
        """Take ``removed`` out and put ``added`` in (either may be None, not both). The one
        step the incremental projection and the rebuild share: one search each way for a
        single change; for both (a correction) the segments before come from a copy."""
        if removed is not None and added is not None:
            entries = self.entries[:]
            window = _hull(self.remove(removed), self.add(added))
            return Move(window, segments(entries, window), self.segments(window))
        if added is not None:
            return self.insert(added)
        assert removed is not None
        return self.delete(removed)

    def _window(self, index: int, stated_at: datetime, above: int) -> Window:
        """From the statement ranked just below position ``index`` (or ``stated_at``) to the
        first label change above the run of equal labels starting at ``above``."""
        entries = self.entries
        low = entries[index - 1][0] if index > 0 else stated_at
        end = _run_end(entries, above)
        return low, entries[end][0] if end < len(entries) else None

    def segments(self, window: Window) -> dict[datetime, Segment]:
        """The segments starting inside ``window``, keyed by where they start."""
        return segments(self.entries, window)

    def all_segments(self) -> Iterator[Segment]:
        if self.entries:
            yield from self.segments((self.entries[0][0], None)).values()

    @property
    def best(self) -> Entry | None:
        """The statement the stance rests on now: greatest (stated_at, recorded_position)."""
        return self.entries[-1] if self.entries else None

    @property
    def previous_label(self) -> str | None:
        """The label of the best-ranked statement below ``best`` that says something else."""
        entries = self.entries
        return _label_below(entries, len(entries) - 1, entries[-1][2]) if entries else None


def segments(entries: list[Entry], window: Window) -> dict[datetime, Segment]:
    """The segments of ``entries`` (in rank order) starting inside ``window``, by start."""
    low, high = window
    start = bisect_left(entries, low, key=_stated)
    stop = len(entries) if high is None else bisect_left(entries, high, key=_stated)
    return _segments(entries, start, stop)


def _segments(entries: list[Entry], start: int, stop: int) -> dict[datetime, Segment]:
    """The segments of the entries at indexes [start, stop), by start.

    Two calls per event on every path, so written for the interpreter: each entry's label
    compared with the one below it once, and each ``Segment`` made by ``tuple.__new__``, which
    skips the named tuple's ``__new__`` written in Python."""
    found: dict[datetime, Segment] = {}
    if start >= stop:
        return found
    below = entries[start][2]
    previous = _label_below(entries, start, below)
    last = len(entries) - 1
    for index in range(start, stop):
        stated_at, _position, label, version = entries[index]
        if label != below:
            previous, below = below, label  # else the one below's: the same label
        if index < last:
            following = entries[index + 1][0]
            if following > stated_at:
                found[stated_at] = _new(Segment, (stated_at, following, version, previous))
        else:
            found[stated_at] = _new(Segment, (stated_at, None, version, previous))
    return found


def _run_end(entries: list[Entry], above: int) -> int:
    """The index of the first entry from ``above`` on whose label differs from that of
    ``entries[above]`` (``len(entries)`` if none does)."""
    end = above
    if end < len(entries):
        label = entries[end][2]
        while end < len(entries) and entries[end][2] == label:
            end += 1
    return end


_new = tuple.__new__


_FLIPS = {(a.value, b.value): is_flip(a, b) for a in Stance for b in Stance}


def touched_pairs(
    previous: dict[str, Any] | None, version: dict[str, Any]
) -> list[tuple[Pair, dict[str, Any] | None, dict[str, Any] | None]]:
    """The pairs an event touches, the version's first, each with the counting statement it
    loses and the one it gains (None for none): a correction may move a statement from one
    pair to another, and a statement counts only while accepted."""
    pair = (version["actor_id"], version["topic_id"])
    added = version if version["counts"] else None
    if previous is None:
        return [(pair, None, added)]
    old_pair = (previous["actor_id"], previous["topic_id"])
    removed = previous if previous["counts"] else None
    if old_pair == pair:
        return [(pair, removed, added)]
    return [(pair, None, added), (old_pair, removed, None)]


def _hull(first: Window, second: Window) -> Window:
    """The smallest window holding both: segments outside either are unchanged."""
    high = None if first[1] is None or second[1] is None else max(first[1], second[1])
    return min(first[0], second[0]), high


def current_after(timeline: Timeline, position: int) -> tuple[dict[str, Any] | None, bool] | None:
    """The pair's current stance after the event at ``position`` (None: it has none) and whether
    its label moved, which is a stance change; None when nothing about it changed.

    The one definition the incremental projection and the rebuild share, so the two cannot
    disagree. ``previous_stance`` is the stance of the latest earlier-stated counting statement
    with another label (valid-time order), as in the as-of replay, so the current matrix and a
    replay at "now" agree even when old statements arrive late. The row holds the columns of
    ``current_stances`` but the pair's keys.
    """
    current = timeline.current
    entries = timeline.entries
    if not entries:
        return None if current is None else (None, True)
    stated_at, _position, stance, version = entries[-1]
    previous = _label_below(entries, len(entries) - 1, stance)
    if (
        current is not None
        and current["since"] == stated_at
        and current["stance"] == stance
        and current["previous_stance"] == previous
        and _same_id(current["statement_id"], version["statement_id"])
    ):
        return None  # the commonest answer: the event did not touch the top of the pair
    moved = current is None or current["stance"] != stance
    row = {
        "stance": stance,
        "score": version["score"],
        "since": stated_at,
        "statement_id": version["statement_id"],
        "previous_stance": previous,
        "flip": previous is not None and _FLIPS[(previous, stance)],
        "changed_position": position if moved or current is None else current["changed_position"],
        "updated_position": position,
    }
    return row, moved


CHANGE_COLUMNS = (
    "position",
    "actor_id",
    "topic_id",
    "from_stance",
    "to_stance",
    "flip",
    "statement_id",
    "previous_statement_id",
    "since",
    "event_type",
    "event_id",
    "recorded_at",
)


class Moment(Protocol):
    """What a stance change names of the event that made it: a ``RecordedEvent`` or a
    rebuild's ``LogRow``."""

    @property
    def position(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def event_id(self) -> Any: ...
    @property
    def recorded_at(self) -> Any: ...


def stance_change(
    pair: Pair, before: dict[str, Any] | None, after: dict[str, Any] | None, event: Moment
) -> tuple[Any, ...]:
    """The ``stance_changes`` row, in ``CHANGE_COLUMNS`` order, of the pair's current stance
    moving from ``before`` to ``after`` (rows as ``current_after`` gives them; None for none)
    by ``event``: one definition for the incremental projection and the rebuild, each of which
    puts the values in its own form."""
    from_stance = before["stance"] if before else None
    to_stance = after["stance"] if after else None
    return (
        event.position,
        pair[0],
        pair[1],
        from_stance,
        to_stance,
        bool(from_stance and to_stance and _FLIPS[(from_stance, to_stance)]),
        after["statement_id"] if after else None,
        before["statement_id"] if before else None,
        after["since"] if after else None,
        event.type,
        event.event_id,
        event.recorded_at,
    )


def _same_id(was: Any, now: Any) -> bool:
    """Equal statement ids; by identity first, as ``uuid.UUID.__eq__`` is written in Python and
    the ids compared are mostly one object (the rebuild's, or a batch's own statements)."""
    return was is now or was == now


_rank = itemgetter(0, 1)
"""An entry's (stated_at, recorded_position); ``itemgetter`` rather than a function, as
``bisect`` calls its key once per comparison."""
_stated = itemgetter(0)


def _label_below(entries: list[Entry], index: int, label: str) -> str | None:
    for below in range(index - 1, -1, -1):
        if entries[below][2] != label:
            return entries[below][2]
    return None
