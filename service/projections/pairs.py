"""Per (actor, topic): the counting statements, and which one the stance rule picks now.

The stance rule needs, for the current matrix, the counting statement with the greatest
(stated_at, recorded_position), and for ``previous_stance`` the best-ranked one below it with
another label. Adding a statement updates both in constant time, which is what a rebuild does
hundreds of thousands of times; removing one (a correction or retraction) marks them stale and
they are recomputed from the candidates on the next read.

A pair loaded from the database is ``partial``: only its best statement and the best one with
another label are loaded, not every statement it ever had (a pair can hold thousands). Adding
keeps both right; removing one of them leaves the pair ``stale``, and the projection reloads
the two from the database.
"""

import uuid
from datetime import datetime
from typing import Any

Pair = tuple[str, str]
Rank = tuple[datetime, int]  # stated_at, recorded_position: the stance rule's order
Best = tuple[uuid.UUID, Rank, str]


class PairState:
    """The counting statements of one pair, its chosen one, and its row in ``current_stances``."""

    __slots__ = ("_best", "_previous", "_stale", "candidates", "current", "in_table", "partial")

    def __init__(self) -> None:
        self.candidates: dict[uuid.UUID, tuple[Rank, str]] = {}
        self.current: dict[str, Any] | None = None
        self.in_table = False
        self.partial = False
        self._best: Best | None = None
        self._previous: tuple[Rank, str] | None = None
        self._stale = False

    def add(self, statement_id: uuid.UUID, rank: Rank, label: str) -> None:
        self.candidates[statement_id] = (rank, label)
        if self._stale:
            return
        best = self._best
        if best is None:
            self._best = (statement_id, rank, label)
        elif rank > best[1]:
            if label != best[2]:
                self._previous = (best[1], best[2])
            self._best = (statement_id, rank, label)
        elif label != best[2] and (self._previous is None or rank > self._previous[0]):
            self._previous = (rank, label)

    def remove(self, statement_id: uuid.UUID) -> None:
        if self.candidates.pop(statement_id, None) is not None:
            self._stale = True

    @property
    def stale(self) -> bool:
        return self._stale

    def reset(self, loaded: list[tuple[uuid.UUID, Rank, str]]) -> None:
        """Start again from ``loaded`` (the pair's best statements, from the database)."""
        self.candidates = {sid: (rank, label) for sid, rank, label in loaded}
        self._recompute()

    @property
    def best(self) -> Best | None:
        """The statement the stance rests on now: greatest (stated_at, recorded_position)."""
        if self._stale:
            self._recompute()
        return self._best

    @property
    def previous_label(self) -> str | None:
        """The label of the best-ranked statement below ``best`` that says something else."""
        if self._stale:
            self._recompute()
        return None if self._previous is None else self._previous[1]

    def _recompute(self) -> None:
        ranked = sorted(self.candidates.items(), key=lambda item: item[1][0], reverse=True)
        self._best = self._previous = None
        if ranked:
            statement_id, (rank, label) = ranked[0]
            self._best = (statement_id, rank, label)
            self._previous = next(((r, lbl) for _, (r, lbl) in ranked[1:] if lbl != label), None)
        self._stale = False
