"""The interval tree's arithmetic: where a valid range is stored, and which nodes a point asks."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.store import interval_index
from service.store.interval_index import HEIGHT, OPEN_END, fork, micros, path, valid_key

_NODES = st.integers(min_value=1, max_value=OPEN_END)


def _trailing_zeros(number: int) -> int:
    return (number & -number).bit_length() - 1


def _found(node: int, lo: int, hi: int, point: int) -> bool:
    """What the probe's three parts select for a range stored at ``node``."""
    left, right = path(point)
    return (node in left and hi >= point) or (node in right and lo <= point) or node == point


@given(_NODES, _NODES)
def test_a_range_is_stored_at_the_node_inside_it_with_the_most_trailing_zeros(a: int, b: int):
    lo, hi = min(a, b), max(a, b)
    node = fork(lo, hi)
    assert lo <= node <= hi
    # No number in the range has more trailing zeros: the next multiple of 2**(z+1) at or
    # above lo lies beyond hi.
    step = 1 << (_trailing_zeros(node) + 1)
    assert -(-lo // step) * step > hi


@given(_NODES, _NODES, _NODES)
def test_the_probe_finds_a_range_exactly_when_it_holds_the_point(a: int, b: int, point: int):
    lo, hi = min(a, b), max(a, b)
    assert _found(fork(lo, hi), lo, hi, point) == (lo <= point <= hi)


@given(_NODES, _NODES, st.sampled_from([-1, 0, 1]))
def test_the_probe_is_exact_at_the_edges_of_a_range(a: int, b: int, offset: int):
    lo, hi = min(a, b), max(a, b)
    for edge in (lo + offset, hi + offset):
        if 1 <= edge <= OPEN_END:
            assert _found(fork(lo, hi), lo, hi, edge) == (lo <= edge <= hi)


def test_the_path_of_a_point_runs_from_the_root_one_node_a_level():
    point = micros(datetime(2022, 5, 16, 12, 30, tzinfo=UTC))
    left, right = path(point)
    nodes = sorted(left + right, key=_trailing_zeros, reverse=True)
    assert nodes[0] == 1 << (HEIGHT - 1)  # the root
    assert [_trailing_zeros(n) for n in nodes] == list(
        range(HEIGHT - 1, HEIGHT - 1 - len(nodes), -1)
    )
    assert all(n < point for n in left) and all(n > point for n in right)


def test_valid_times_map_to_microseconds_in_order_and_open_ranges_to_the_end():
    start = datetime(2022, 2, 24, tzinfo=UTC)
    node, lo, hi = valid_key(start, start + timedelta(microseconds=2))
    assert (lo, hi) == (micros(start), micros(start) + 1)
    assert lo <= node <= hi
    assert valid_key(start, None)[2] == OPEN_END
    assert micros(datetime(1, 1, 1, tzinfo=UTC)) == 1
    assert micros(datetime.max.replace(tzinfo=UTC)) < OPEN_END


def test_an_empty_valid_range_is_refused():
    start = datetime(2022, 2, 24, tzinfo=UTC)
    with pytest.raises(ValueError, match="empty valid range"):
        valid_key(start, start)


def test_the_probe_sql_differs_by_backend_only_in_how_node_lists_are_bound():
    for known_now in (True, False):
        sqlite = interval_index.probe(sqlite=True, known_now=known_now)
        postgres = interval_index.probe(sqlite=False, known_now=known_now)
        assert "valid_node IN :left" in sqlite and "valid_node = ANY(:left)" in postgres
        as_lists = postgres.replace("= ANY(:left)", "IN :left")
        assert as_lists.replace("= ANY(:right)", "IN :right") == sqlite


def test_a_matrix_known_now_reads_only_the_open_rectangles():
    assert interval_index.CLOSED not in interval_index.probe(sqlite=True, known_now=True)
    assert interval_index.CLOSED in interval_index.probe(sqlite=True, known_now=False)
