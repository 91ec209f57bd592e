"""``Timeline.insert`` and ``Timeline.delete`` find the segments before and after a change from
the indexes of their one search; they must be exactly those a search of the change's window by
valid time finds, ties of stated_at included (the integration properties check the windows
themselves against a pure fold of the log)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from service.projections.pairs import Timeline, segments

BASE = datetime(2022, 1, 1, tzinfo=UTC)
LABELS = ["opposes", "neutral", "supports"]

statements = st.lists(
    st.tuples(st.integers(0, 5), st.sampled_from(LABELS)), min_size=0, max_size=12
)


def _versions(said: list[tuple[int, str]]) -> list[dict[str, Any]]:
    """Versions stated on few distinct days (many ties), recorded in list order."""
    return [
        {
            "stated_at": BASE + timedelta(days=day),
            "recorded_position": position,
            "caused_by_position": position,
            "stance": label,
        }
        for position, (day, label) in enumerate(said, start=1)
    ]


@given(statements, st.integers(0, 5), st.sampled_from(LABELS))
def test_an_insert_answers_the_segments_its_window_holds(
    said: list[tuple[int, str]], day: int, label: str
) -> None:
    versions = _versions(said)
    timeline = Timeline(versions)
    before = timeline.entries[:]
    added = _versions([*said, (day, label)])[-1]
    move = timeline.insert(added)
    assert timeline.entries == sorted(
        [*before, (added["stated_at"], len(versions) + 1, label, added)], key=lambda e: e[:2]
    )
    assert move.before == segments(before, move.window)
    assert move.after == segments(timeline.entries, move.window)


@given(statements.filter(bool), st.data())
def test_a_delete_answers_the_segments_its_window_holds(
    said: list[tuple[int, str]], data: st.DataObject
) -> None:
    versions = _versions(said)
    timeline = Timeline(versions)
    before = timeline.entries[:]
    removed = data.draw(st.sampled_from(versions))
    move = timeline.delete(removed)
    assert [entry[3] for entry in timeline.entries] == [
        entry[3] for entry in before if entry[3] is not removed
    ]
    assert move.before == segments(before, move.window)
    assert move.after == segments(timeline.entries, move.window)


def test_a_change_at_the_top_reaches_the_end_of_valid_time() -> None:
    timeline = Timeline(_versions([(1, "opposes"), (1, "neutral"), (3, "neutral")]))
    move = timeline.insert(_versions([(0, "x")] * 3 + [(4, "supports")])[-1])
    assert move.window == (BASE + timedelta(days=3), None)
    assert list(move.after) == [BASE + timedelta(days=3), BASE + timedelta(days=4)]
    assert move.after[BASE + timedelta(days=4)].previous_stance == "neutral"


@given(statements, st.integers(0, 5), st.sampled_from(LABELS))
def test_the_newest_statement_moves_what_a_comparison_of_segments_finds(
    said: list[tuple[int, str]], day: int, label: str
) -> None:
    """``insert_newest`` decides what a statement recorded after all others moves without
    comparing segments; it must close and open exactly the segments ``insert``'s comparison
    does, and say whether the pair's top may have moved whenever it did."""
    versions = _versions(said)
    added = _versions([*said, (day, label)])[-1]
    compared, direct = Timeline(versions), Timeline(versions)
    top_before = (compared.best, compared.previous_label)
    move = compared.insert(added)
    closed, opened, top = direct.insert_newest(added)
    assert direct.entries == compared.entries
    assert sorted(closed) == sorted(move.closed())
    assert sorted(opened, key=lambda s: s.valid_from) == sorted(
        move.opened(), key=lambda s: s.valid_from
    )
    if (compared.best, compared.previous_label) != top_before:
        assert top
