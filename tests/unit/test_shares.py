"""Shares of the pairs: each cut deals every pair to exactly one process, the same in any
process, and a database no other process can open is never shared out."""

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine

from service.commands import UPCASTERS
from service.projections import fold_process
from service.projections.shares import EVERY_PAIR, SLOTS, Share, Split, cut, slot

ids = st.text(min_size=1, max_size=20)


@given(actor=ids, topic=ids, at=st.integers(min_value=1, max_value=SLOTS - 1))
def test_a_cut_gives_every_pair_to_exactly_one_share(actor: str, topic: str, at: int):
    mine, theirs = cut(at)
    assert mine.holds((actor, topic)) != theirs.holds((actor, topic))


@given(actor=ids, topic=ids)
def test_the_share_of_every_slot_holds_every_pair(actor: str, topic: str):
    """``EVERY_PAIR`` answers without a digest; a share of every slot made anew says the same."""
    assert EVERY_PAIR.holds((actor, topic))
    assert Share(0, SLOTS).holds((actor, topic))


def test_a_pair_has_the_same_slot_in_another_process():
    """Python's own ``hash`` of a string differs between processes; the slot must not."""
    pairs = [("lukashenko", "war-justified"), ("a1", "t1"), ("kamilov", "ukraine-sovereignty")]
    script = (
        f"from service.projections.shares import slot;print([slot(pair) for pair in {pairs!r}])"
    )
    other = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == repr([slot(pair) for pair in pairs])


@pytest.mark.parametrize("at", [0, SLOTS, -1])
def test_a_cut_outside_the_slots_is_refused(at: int):
    with pytest.raises(ValueError, match="split must fall inside"):
        cut(at)


def test_a_database_in_memory_is_folded_in_one_process():
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        split = Split(processes=2, from_events=0)
        assert fold_process.start(connection, UPCASTERS, until=10, split=split) is None
