from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

import service.demo
from service.demo.article import ARTICLE
from service.demo.seed import demo_commands, demo_statement_id
from service.domain.commands import CorrectStatement, DefineTopic, RecordStatement, RegisterActor
from service.domain.replay import fold_stances
from service.domain.stances import Stance
from service.domain.values import UNCHANGED
from tests.unit.memory import MemoryLog

START = datetime(2024, 1, 1, tzinfo=UTC)
FOREVER = datetime(2100, 1, 1, tzinfo=UTC)
SOVEREIGNTY = "ukraine-sovereignty"


def _load(*, min_confidence: float = 0.7, runs: int = 1) -> tuple[MemoryLog, datetime]:
    """Load the demo; returns the log and the transaction time just before the first correction."""
    log = MemoryLog(start=START, min_confidence=min_confidence)
    before_corrections = START
    for _ in range(runs):
        for step in demo_commands():
            if isinstance(step.command, CorrectStatement) and before_corrections == START:
                before_corrections = log.last.recorded_at
            log.execute(step.command, event_id=step.event_id)
    return log, before_corrections


def test_keys_and_ids_are_unique() -> None:
    steps = demo_commands()
    assert len({step.key for step in steps}) == len(steps)
    assert len({step.event_id for step in steps}) == len(steps)
    recorded = [step.command for step in steps if isinstance(step.command, RecordStatement)]
    assert len({command.statement_id for command in recorded}) == len(recorded) == 18


def test_ids_are_the_same_on_every_call_and_every_machine() -> None:
    assert demo_commands() == demo_commands()
    assert demo_statement_id("mirziyoyev-recognizes-ukraine") == UUID(
        "0a7d2268-1da0-5e9c-8233-434bd47da971"
    )
    assert demo_commands()[0].event_id == UUID("cb325578-0458-51a7-a801-5ebd4b27036d")


def test_everything_referenced_is_registered_before_it_is_used() -> None:
    actors: set[str] = set()
    topics: set[str] = set()
    statements: set[UUID] = set()
    for step in demo_commands():
        command = step.command
        if isinstance(command, RegisterActor):
            actors.add(command.actor_id)
        elif isinstance(command, DefineTopic):
            topics.add(command.topic_id)
        elif isinstance(command, RecordStatement):
            assert (command.actor_id in actors, command.topic_id in topics) == (True, True)
            statements.add(command.statement_id)
        else:
            assert command.statement_id in statements
            assert command.actor_id is UNCHANGED or command.actor_id in actors
            assert command.topic_id is UNCHANGED or command.topic_id in topics


def test_corrections_come_after_every_article_statement() -> None:
    kinds = [type(step.command).__name__ for step in demo_commands()]
    last_record = max(i for i, kind in enumerate(kinds) if kind == "RecordStatement")
    first_correction = kinds.index("CorrectStatement")
    assert last_record < first_correction
    assert kinds.count("CorrectStatement") == 3


def test_quotes_attributed_to_the_article_are_its_exact_words() -> None:
    article = (Path(service.demo.__file__).parent / "seed_article.txt").read_text(encoding="utf-8")
    for step in demo_commands():
        if isinstance(step.command, RecordStatement):
            assert step.command.source == ARTICLE
            assert step.command.quote in article, step.key


def test_japarov_is_on_record_as_president() -> None:
    japarov = next(step for step in demo_commands() if step.key == "actor:japarov")
    assert isinstance(japarov.command, RegisterActor)
    assert japarov.command.role == "President of Kyrgyzstan"
    assert japarov.note is not None and "Prime Minister" in japarov.note


def test_loading_the_demo_runs_every_step_through_the_domain() -> None:
    log, _ = _load()
    assert len(log.entries) == len(demo_commands())


def test_loading_twice_appends_nothing_new() -> None:
    once, _ = _load()
    twice, _ = _load(runs=2)
    assert [entry.event for entry in twice.entries] == [entry.event for entry in once.entries]


def test_lukashenko_supports_the_war() -> None:
    log, _ = _load()
    stances = fold_stances(log.entries, as_of=FOREVER, known_at=FOREVER)
    assert stances["lukashenko", "war-justified"].stance is Stance.SUPPORTS
    assert stances["lukashenko", "belarus-troops-to-ukraine"].stance is Stance.OPPOSES
    assert stances["japarov", "kyrgyz-biosafety-lab"].stance is Stance.OPPOSES
    assert ("rahmon", "war-justified") not in stances


def test_the_sovereignty_statement_moves_from_mirziyoyev_to_kamilov() -> None:
    log, before_corrections = _load()
    before = fold_stances(log.entries, as_of=FOREVER, known_at=before_corrections)
    after = fold_stances(log.entries, as_of=FOREVER, known_at=FOREVER)
    assert before["mirziyoyev", SOVEREIGNTY].stance is Stance.SUPPORTS
    assert ("kamilov", SOVEREIGNTY) not in before
    assert ("mirziyoyev", SOVEREIGNTY) not in after
    kamilov = after["kamilov", SOVEREIGNTY]
    assert (kamilov.stance, kamilov.stated_at) == (
        Stance.SUPPORTS,
        datetime(2022, 3, 17, tzinfo=UTC),
    )
    assert kamilov.statement_id == demo_statement_id("mirziyoyev-recognizes-ukraine")


@pytest.mark.parametrize("actor_id", ["tokayev", "putin"])
def test_the_csto_intervention_is_dated_january_once_corrected(actor_id: str) -> None:
    log, before_corrections = _load()
    mid_january = datetime(2022, 1, 15, tzinfo=UTC)
    pair = (actor_id, "csto-kazakhstan-intervention")
    assert pair not in fold_stances(log.entries, as_of=mid_january, known_at=before_corrections)
    assert fold_stances(log.entries, as_of=mid_january, known_at=FOREVER)[pair].stance is (
        Stance.SUPPORTS
    )


def test_the_low_confidence_inference_waits_for_review() -> None:
    strict, _ = _load(min_confidence=0.7)
    lenient, _ = _load(min_confidence=0.5)
    pair = ("belarusian-generals", "war-justified")
    assert pair not in fold_stances(strict.entries, as_of=FOREVER, known_at=FOREVER)
    assert fold_stances(lenient.entries, as_of=FOREVER, known_at=FOREVER)[pair].stance is (
        Stance.LEANS_OPPOSES
    )
