import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.commands import (
    ApproveStatement,
    CorrectStatement,
    RecordStatement,
    RejectStatement,
    RetractStatement,
)
from service.domain.errors import DomainError
from service.domain.events import (
    StatementApproved,
    StatementChanges,
    StatementCorrected,
    StatementRejected,
    StatementRetracted,
)
from service.domain.replay import LoggedEvent, fold_stances, fold_statements
from service.domain.stances import Stance, StanceAt, pick_stance
from service.domain.statements import Statement
from tests.unit.builders import CATALOG, FEBRUARY, MAY, SOURCE, recorded
from tests.unit.memory import MemoryLog

START = datetime(2023, 1, 1, tzinfo=UTC)
LATER = datetime(2030, 1, 1, tzinfo=UTC)
MARCH = datetime(2022, 3, 1, tzinfo=UTC)
PAIR = ("lukashenko", "war-justified")


def _log() -> MemoryLog:
    return MemoryLog(start=START, min_confidence=0.5)


def _stance(
    log: MemoryLog, *, as_of: datetime = LATER, known_at: datetime = LATER
) -> Stance | None:
    found = fold_stances(log.entries, as_of=as_of, known_at=known_at).get(PAIR)
    return None if found is None else found.stance


def test_a_late_arriving_older_statement_changes_history_not_the_present() -> None:
    log = _log()
    log.append(recorded(*PAIR, Stance.SUPPORTS, MAY))
    before_arrival = log.last.recorded_at
    log.append(recorded(*PAIR, Stance.OPPOSES, FEBRUARY))
    assert _stance(log) is Stance.SUPPORTS
    assert _stance(log, as_of=MARCH) is Stance.OPPOSES
    assert _stance(log, as_of=MARCH, known_at=before_arrival) is None
    assert _stance(log, as_of=FEBRUARY - timedelta(seconds=1)) is None


def test_ties_in_stated_at_go_to_the_later_position() -> None:
    log = _log()
    log.append(recorded(*PAIR, Stance.OPPOSES, MAY))
    log.append(recorded(*PAIR, Stance.SUPPORTS, MAY))
    winner = fold_stances(log.entries, as_of=LATER, known_at=LATER)[PAIR]
    assert (winner.stance, winner.recorded_position) == (Stance.SUPPORTS, 2)


def test_the_fold_does_not_depend_on_the_order_entries_arrive_in() -> None:
    log = _log()
    for day, stance in enumerate([Stance.OPPOSES, Stance.SUPPORTS, Stance.NEUTRAL]):
        log.append(recorded(*PAIR, stance, MAY if day else MAY + timedelta(days=1)))
    shuffled = list(reversed(log.entries))
    assert fold_stances(shuffled, as_of=LATER, known_at=LATER) == fold_stances(
        log.entries, as_of=LATER, known_at=LATER
    )
    assert _stance(log) is Stance.OPPOSES


def test_a_pending_statement_counts_only_once_approved() -> None:
    log = _log()
    log.append(recorded(*PAIR, Stance.LEANS_OPPOSES, FEBRUARY))
    pending = recorded(*PAIR, Stance.SUPPORTS, MAY, requires_review=True)
    log.append(pending)
    before_approval = log.last.recorded_at
    assert _stance(log) is Stance.LEANS_OPPOSES
    log.append(StatementApproved(pending.statement_id, note=None))
    assert _stance(log) is Stance.SUPPORTS
    assert _stance(log, known_at=before_approval) is Stance.LEANS_OPPOSES


def test_a_rejected_statement_never_counts() -> None:
    log = _log()
    pending = recorded(*PAIR, Stance.SUPPORTS, MAY, requires_review=True)
    log.append(pending)
    log.append(StatementRejected(pending.statement_id, reason="misattributed"))
    log.append(StatementCorrected(pending.statement_id, StatementChanges(quote="fixed"), "typo"))
    assert _stance(log) is None
    assert fold_statements(log.entries, known_at=LATER)[pending.statement_id].quote == "fixed"


def test_a_retraction_falls_back_to_the_previous_counting_statement() -> None:
    log = _log()
    log.append(recorded(*PAIR, Stance.OPPOSES, FEBRUARY))
    latest = recorded(*PAIR, Stance.SUPPORTS, MAY)
    log.append(latest)
    before_retraction = log.last.recorded_at
    log.append(StatementRetracted(latest.statement_id, reason="fabricated"))
    assert _stance(log) is Stance.OPPOSES
    assert _stance(log, known_at=before_retraction) is Stance.SUPPORTS


def test_correcting_actor_or_topic_moves_the_stance() -> None:
    log = _log()
    statement = recorded("mirziyoyev", "ukraine-sovereignty", Stance.SUPPORTS, MAY)
    log.append(statement)
    before = log.last.recorded_at
    log.append(
        StatementCorrected(
            statement.statement_id,
            StatementChanges(actor_id="kamilov", stated_at=datetime(2022, 3, 17, tzinfo=UTC)),
            reason="said by the foreign minister",
        )
    )
    old = fold_stances(log.entries, as_of=LATER, known_at=before)
    new = fold_stances(log.entries, as_of=LATER, known_at=LATER)
    assert set(old) == {("mirziyoyev", "ukraine-sovereignty")}
    assert set(new) == {("kamilov", "ukraine-sovereignty")}
    assert new["kamilov", "ukraine-sovereignty"].stated_at == datetime(2022, 3, 17, tzinfo=UTC)

    log.append(
        StatementCorrected(statement.statement_id, StatementChanges(topic_id="war-justified"), "x")
    )
    assert set(fold_stances(log.entries, as_of=LATER, known_at=LATER)) == {
        ("kamilov", "war-justified")
    }


def test_known_at_shows_the_stance_before_and_after_a_correction() -> None:
    log = _log()
    statement = recorded(*PAIR, Stance.SUPPORTS, MAY)
    log.append(statement)
    before = log.last.recorded_at
    log.append(
        StatementCorrected(statement.statement_id, StatementChanges(stance=Stance.NEUTRAL), "x")
    )
    assert _stance(log, known_at=before) is Stance.SUPPORTS
    assert _stance(log, known_at=log.last.recorded_at) is Stance.NEUTRAL
    assert _stance(log, known_at=START) is None


def test_the_winner_names_its_statement_and_recording_position() -> None:
    log = _log()
    log.append(recorded(*PAIR, Stance.OPPOSES, FEBRUARY))
    statement = recorded(*PAIR, Stance.SUPPORTS, MAY)
    log.append(statement)
    log.append(StatementCorrected(statement.statement_id, StatementChanges(quote="q"), "x"))
    assert fold_stances(log.entries, as_of=LATER, known_at=LATER)[PAIR] == StanceAt(
        *PAIR, Stance.SUPPORTS, statement.statement_id, MAY, recorded_position=2
    )


def _via_aggregates(
    entries: list[LoggedEvent], *, as_of: datetime, known_at: datetime
) -> dict[tuple[str, str], StanceAt]:
    """The stance rule computed a second way: Statement aggregates rebuilt from their streams."""
    streams: dict[UUID, list[LoggedEvent]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: e.position):
        if entry.recorded_at <= known_at and hasattr(entry.event, "statement_id"):
            streams[entry.event.statement_id].append(entry)
    candidates: dict[tuple[str, str], list[StanceAt]] = defaultdict(list)
    for stream in streams.values():
        statement = Statement.from_events([entry.event for entry in stream])
        if statement.counts:
            pair = (statement.actor_id, statement.topic_id)
            candidates[pair].append(
                StanceAt(
                    *pair,
                    statement.stance,
                    statement.statement_id,
                    statement.stated_at,
                    stream[0].position,
                )
            )
    found = {pair: pick_stance(items, as_of=as_of) for pair, items in candidates.items()}
    return {pair: stance for pair, stance in found.items() if stance is not None}


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32), steps=st.integers(1, 40))
def test_the_fold_agrees_with_the_statement_aggregate(seed: int, steps: int) -> None:
    rng = random.Random(seed)
    log = MemoryLog(start=START, min_confidence=0.5, catalog=CATALOG)
    ids: list[UUID] = []
    actors, topics = sorted(CATALOG.actor_ids), sorted(CATALOG.topic_ids)
    days = [MAY + timedelta(days=rng.randrange(-3, 3)) for _ in range(steps)]
    for day in days:
        action = rng.choice(["record", "record", "approve", "reject", "correct", "retract"])
        try:
            if action == "record" or not ids:
                ids.append(UUID(int=rng.getrandbits(128)))
                command: object = RecordStatement(
                    ids[-1], rng.choice(actors), rng.choice(topics), rng.choice(list(Stance)),
                    "q", day, "paraphrase", SOURCE, confidence=rng.choice([0.2, 0.9]),
                )  # fmt: skip
            elif action == "approve":
                command = ApproveStatement(rng.choice(ids))
            elif action == "reject":
                command = RejectStatement(rng.choice(ids), reason="no")
            elif action == "retract":
                command = RetractStatement(rng.choice(ids), reason="no")
            else:
                command = CorrectStatement(
                    rng.choice(ids), reason="fix", stated_at=day, stance=rng.choice(list(Stance)),
                    actor_id=rng.choice(actors), topic_id=rng.choice(topics),
                )  # fmt: skip
            log.execute(command)  # type: ignore[arg-type]
        except DomainError:
            pass
    moments = [entry.recorded_at for entry in log.entries] + [START]
    for known_at in rng.sample(moments, min(4, len(moments))):
        for as_of in [*rng.sample(days, min(3, len(days))), LATER]:
            assert fold_stances(log.entries, as_of=as_of, known_at=known_at) == _via_aggregates(
                log.entries, as_of=as_of, known_at=known_at
            )


def test_an_event_for_an_unrecorded_statement_is_a_broken_log() -> None:
    log = _log()
    log.append(StatementApproved(UUID(int=1), note=None))
    with pytest.raises(ValueError, match="never recorded"):
        fold_statements(log.entries, known_at=LATER)
