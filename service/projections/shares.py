"""Shares of the pairs, for a replay split between processes.

Every rule of the stance read models works within one (actor, topic) pair, so the pairs can be
dealt out to processes that each keep only their own pairs' rows: each folding the whole log
(``fold_process``), or a child forked once the log is read settling its share (``forked``). The
deal must be the same in every process, so it rests on a digest of the pair's ids, not on
Python's ``hash``, which differs from process to process.
"""

import zlib
from dataclasses import dataclass

from service.projections.pairs import Pair

SLOTS = 1024
"""How finely the pairs are dealt: a share is a range of these slots."""


@dataclass(frozen=True)
class Share:
    """The pairs whose slot is in [low, high)."""

    low: int
    high: int

    def holds(self, pair: Pair) -> bool:
        if self.low == 0 and self.high == SLOTS:  # every pair: no digest to make
            return True
        return self.low <= slot(pair) < self.high


EVERY_PAIR = Share(0, SLOTS)


def slot(pair: Pair) -> int:
    """A pair's place among ``SLOTS``: CRC-32 of its ids, which no id can run together."""
    actor_id, topic_id = pair
    return zlib.crc32(f"{actor_id}\x00{topic_id}".encode()) % SLOTS


def cut(at: int) -> tuple[Share, Share]:
    """The pairs cut in two at slot ``at``: the first share, then the rest."""
    if not 0 < at < SLOTS:
        raise ValueError(f"a split must fall inside 1..{SLOTS - 1}, not {at}")
    return Share(0, at), Share(at, SLOTS)


@dataclass(frozen=True)
class Split:
    """How a replay deals its pairs out: to ``processes`` processes (1 or 2) once the log holds
    ``from_events`` events, the second process taking the slots from ``at`` on. ``forked``: the
    second process is forked once the log is read, inheriting the events read and the versions
    made (``rebuild._fork_child``), rather than started at once to read the log itself
    (``fold_process``)."""

    processes: int = 1
    from_events: int = 0
    at: int = SLOTS // 2
    forked: bool = False

    def shares_out(self, events: int) -> bool:
        """Whether a log of ``events`` events goes to a second process at all."""
        return self.processes >= 2 and events >= self.from_events


NO_SPLIT = Split()


@dataclass
class ShareRows:
    """What a share's process returns: its rows, by table, as the driver takes them (SQLite)
    or already encoded as binary COPY streams, header to trailer (PostgreSQL)."""

    rows: dict[str, list[tuple[object, ...]]]
    streams: dict[str, list[bytes]]
