from datetime import timedelta
from itertools import product
from uuid import uuid4

import pytest

from service.domain.errors import UnknownStance
from service.domain.stances import Stance, StanceAt, is_flip, parse_stance, pick_stance
from tests.unit.builders import MAY

OPP, LO, N, LS, S = (
    Stance.OPPOSES,
    Stance.LEANS_OPPOSES,
    Stance.NEUTRAL,
    Stance.LEANS_SUPPORTS,
    Stance.SUPPORTS,
)
FLIPS = {(OPP, LS), (OPP, S), (LO, LS), (LO, S), (LS, OPP), (LS, LO), (S, OPP), (S, LO)}


def test_scores_run_from_minus_two_to_plus_two_in_order() -> None:
    assert [stance.score for stance in Stance] == [-2, -1, 0, 1, 2]


@pytest.mark.parametrize("label", ["supports", " SUPPORTS ", Stance.SUPPORTS])
def test_parse_stance_reads_labels(label: str) -> None:
    assert parse_stance(label) is Stance.SUPPORTS


@pytest.mark.parametrize("label", ["agrees", "", "support", "2"])
def test_parse_stance_refuses_unknown_labels(label: str) -> None:
    with pytest.raises(UnknownStance) as raised:
        parse_stance(label)
    assert raised.value.field == "stance"
    assert raised.value.code == "unknown-stance"


@pytest.mark.parametrize(("previous", "current"), list(product([None, *Stance], repeat=2)))
def test_is_flip_only_when_the_side_changes(
    previous: Stance | None, current: Stance | None
) -> None:
    assert is_flip(previous, current) is ((previous, current) in FLIPS)


def _at(stance: Stance, days: int, position: int) -> StanceAt:
    return StanceAt("putin", "war-justified", stance, uuid4(), MAY + timedelta(days=days), position)


def test_pick_stance_takes_the_latest_stated_not_after_as_of() -> None:
    early, late, future = _at(OPP, 0, 1), _at(S, 10, 2), _at(N, 30, 3)
    assert pick_stance([late, future, early], as_of=MAY + timedelta(days=20)) == late
    assert pick_stance([late, early], as_of=MAY + timedelta(days=5)) == early


def test_pick_stance_breaks_ties_by_later_position() -> None:
    first, second = _at(OPP, 0, 7), _at(S, 0, 9)
    assert pick_stance([second, first], as_of=MAY) == second
    assert pick_stance([first, second], as_of=MAY) == second


def test_pick_stance_is_none_when_nothing_was_said_yet() -> None:
    assert pick_stance([_at(S, 1, 1)], as_of=MAY) is None
    assert pick_stance([], as_of=MAY) is None
