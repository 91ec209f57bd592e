"""How the as-of matrix finds the rectangles holding a point: an interval tree in B-trees.

A rectangle of ``stance_intervals`` holds the point (as_of, known_at) when its valid range holds
as_of and its transaction range holds known_at. The valid axis is the selective one (each pair
has some eight rectangles holding a valid time, across all states of knowledge, against tens of
thousands alive at a transaction time), so the rows are laid out as a relational interval tree
over valid time (Kriegel, Pötke and Seidl, VLDB 2000): each valid range, as whole microseconds
[valid_lo, valid_hi], is stored at its fork node, the number inside the range with the most
trailing zero bits. The ranges holding a point V are then exactly

- at each node on the path from the root down to V that lies left of V, those with
  ``valid_hi >= V`` (they start before V, at or before the node);
- at each node on that path right of V, those with ``valid_lo <= V``;
- at V itself, all of them;

so one query of some 60 short ranges of two ordinary B-tree indexes, (node, hi) and (node, lo),
reads only rectangles that hold V, and checks their transaction range on the index entry
itself. Open and closed rectangles have a pair of such indexes each (see ``probe``).

Ordinary indexes, where the R*Tree on SQLite and GiST on PostgreSQL used to be, because a
rebuild creates them in a sort, some ten times faster: the R*Tree cost 12 µs a rectangle to
fill and GiST 17, which bounded a rebuild more than anything else it did. Among 514,000
rectangles, the probe of a 5,000-cell matrix takes 2 ms as known now and 5 ms as known at a
moment in the past on SQLite (the R*Tree: about 2.5 ms either way), and less on PostgreSQL. The
same SQL serves both backends, and it is exact: no rounding, no recheck.
"""

from datetime import UTC, datetime, timedelta

HEIGHT = 59
"""Levels of the tree: 2**59 microseconds cover every datetime (years 1 to 9999)."""
OPEN_END = (1 << HEIGHT) - 1
"""``valid_hi`` of a range with no end (``valid_until`` null)."""
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
KNOWN_NOW = 1 << 62
"""The position standing for "known now": above every position a log will reach."""


def micros(instant: datetime) -> int:
    """An instant as a node of the tree: microseconds since year 1, plus one (nodes are > 0)."""
    return (instant - _EPOCH) // _MICROSECOND + 1


def valid_key(valid_from: datetime, valid_until: datetime | None) -> tuple[int, int, int]:
    """(node, lo, hi) of the valid range [valid_from, valid_until): where the tree stores it."""
    lo = micros(valid_from)
    hi = OPEN_END if valid_until is None else micros(valid_until) - 1
    if hi < lo:
        raise ValueError(f"empty valid range [{valid_from}, {valid_until})")
    return fork(lo, hi), lo, hi


def fork(lo: int, hi: int) -> int:
    """The number in [lo, hi] with the most trailing zero bits: the highest node of the tree
    inside the range. Above the highest bit where lo and hi differ they agree; the number made
    of that common prefix, a one, and zeros lies in the range, and only lo itself can have more
    trailing zeros (when its bits up to there are all zero)."""
    if lo == hi:
        return lo
    bit = (lo ^ hi).bit_length() - 1
    if lo & ((2 << bit) - 1) == 0:
        return lo
    return (hi >> bit) << bit


def path(point: int) -> tuple[list[int], list[int]]:
    """The nodes from the root down to ``point`` (exclusive), split into those left of it and
    those right of it. The node at level j above the point keeps the point's bits above j, has
    bit j set and the bits below clear; the walk stops at the point's own level."""
    left, right = [], []
    for level in range(HEIGHT - 1, -1, -1):
        node = ((point >> (level + 1)) << (level + 1)) | (1 << level)
        if node < point:
            left.append(node)
        elif node > point:
            right.append(node)
        else:
            break
    return left, right


OPEN = "known_until_position IS NULL"
CLOSED = "known_until_position IS NOT NULL"
"""The two halves of the table the tree's indexes cover apart: rectangles still believed, and
those a later event closed (see ``probe``)."""
_HALF_WHERE = {
    OPEN: f"{OPEN} AND known_from_position <= :known",
    CLOSED: f"{CLOSED} AND known_from_position <= :known AND known_until_position > :known",
}


def _half(half: str) -> str:
    where = _HALF_WHERE[half]
    return f"""
    SELECT interval_id FROM stance_intervals
    WHERE {where} AND valid_node IN :left AND valid_hi >= :valid
    UNION ALL
    SELECT interval_id FROM stance_intervals
    WHERE {where} AND valid_node IN :right AND valid_lo <= :valid
    UNION ALL
    SELECT interval_id FROM stance_intervals WHERE {where} AND valid_node = :valid"""


def _as_arrays(sql: str) -> str:
    """PostgreSQL's form of a probe: each node list one array parameter."""
    return sql.replace("IN :left", "= ANY(:left)").replace("IN :right", "= ANY(:right)")


_KNOWN_NOW_PROBE = _half(OPEN)
_KNOWN_AT_PROBE = f"{_half(OPEN)}\n    UNION ALL{_half(CLOSED)}"
_PROBES = {
    (True, True): _KNOWN_NOW_PROBE,
    (True, False): _KNOWN_AT_PROBE,
    (False, True): _as_arrays(_KNOWN_NOW_PROBE),
    (False, False): _as_arrays(_KNOWN_AT_PROBE),
}


def probe(*, sqlite: bool, known_now: bool) -> str:
    """The SQL of the rectangles holding the point ``:valid`` (``micros`` of as_of) as known
    after log position ``:known``, given ``:left`` and ``:right`` from ``path``; on PostgreSQL
    the node lists are arrays (one parameter each, see ``driver_sql.Array``).

    Open and closed rectangles have indexes of their own (partial ones), so a matrix as known
    now, the commonest replay, reads only the open ones that hold the valid time: one entry per
    pair, none to filter out. A matrix as known at an earlier moment also reads the closed ones
    holding the valid time, some seven per pair, and keeps those alive then."""
    return _PROBES[(sqlite, known_now)]
