"""Extraction rules, one behaviour per test, against the demo catalog."""

from datetime import UTC, datetime

import pytest

from service.domain.stances import Stance
from service.domain.values import RecordingMethod, StanceCues, StatementKind
from service.feeds.catalog import compile_catalog, find_mentions
from service.feeds.extract import (
    ActorEntry,
    ExtractionCatalog,
    TopicEntry,
    extract_statements,
    extracted_statement_id,
)
from service.feeds.items import FeedItem
from service.feeds.sentences import split_sentences

CATALOG = ExtractionCatalog.demo()
PUBLISHED = datetime(2022, 6, 1, 9, 0, tzinfo=UTC)
OBSERVED = datetime(2022, 6, 2, tzinfo=UTC)


def item(text: str, title: str = "", link: str | None = "https://example.org/a") -> FeedItem:
    return FeedItem(
        guid_hash="h" * 64, guid="g", link=link, title=title, text=text, published_at=PUBLISHED
    )


def extract(text: str, title: str = "", catalog: ExtractionCatalog = CATALOG):
    return extract_statements(
        item(text, title), catalog=catalog, feed_id="feed-1", publisher="Wire", observed_at=OBSERVED
    )


def triples(text: str, title: str = "") -> set[tuple[str, str, Stance]]:
    return {
        (s.command.actor_id, s.command.topic_id, s.command.stance)
        for s in extract(text, title).statements
    }


@pytest.mark.parametrize(
    "spelling",
    ["Lukashenko", "Lukashenka", "Łukašenka", "Lukašenka", "Alexander Lukashenko", "LUKASHENKO"],
)
def test_names_fold_case_diacritics_and_transliteration(spelling: str):
    sentence = split_sentences(f"{spelling} spoke.")[0]
    mentions = find_mentions(sentence, compile_catalog(CATALOG))
    assert [m.actor_id for m in mentions] == ["lukashenko"]


@pytest.mark.parametrize("spelling", ["Tokayev", "Tokaev", "Toqaev", "Kassym-Jomart Tokayev"])
def test_transliterations_of_one_name_meet(spelling: str):
    sentence = split_sentences(f"{spelling} spoke.")[0]
    assert [m.actor_id for m in find_mentions(sentence, compile_catalog(CATALOG))] == ["tokayev"]


def test_lowercase_words_are_not_names():
    sentence = split_sentences("the putin doctrine")[0]
    assert find_mentions(sentence, compile_catalog(CATALOG)) == []


def test_speech_verb_subject_cue_and_keyword_give_a_statement():
    result = extract("Putin said the special military operation was justified.")
    (statement,) = result.statements
    command = statement.command
    assert (command.actor_id, command.topic_id, command.stance) == (
        "putin",
        "war-justified",
        Stance.SUPPORTS,
    )
    assert command.kind == StatementKind.PARAPHRASE
    assert command.method == RecordingMethod.FEED
    assert command.source.url == "https://example.org/a"
    assert command.source.publisher == "Wire"
    assert command.stated_at == PUBLISHED
    assert any("said" in line for line in statement.explanation)
    assert any("justified" in line for line in statement.explanation)


def test_negation_flips_the_cue():
    assert triples("Tokayev said Kazakhstan would not recognize the Donetsk republic.") == {
        ("tokayev", "ukraine-sovereignty", Stance.SUPPORTS)
    }
    assert triples("Tokayev said Kazakhstan would recognize the Donetsk republic.") == {
        ("tokayev", "ukraine-sovereignty", Stance.OPPOSES)
    }


def test_refusal_flips_and_a_negated_judgement_is_neutral():
    assert triples("Lukashenko ruled out sending Belarusian troops to Ukraine.") == {
        ("lukashenko", "belarus-troops-to-ukraine", Stance.OPPOSES)
    }
    assert triples("Tokayev refused to condemn the invasion of Ukraine.") == {
        ("tokayev", "war-justified", Stance.NEUTRAL)
    }


def test_declining_to_say_is_silence():
    assert triples("Pashinyan declined to say whether Armenia would recognize Donetsk.") == set()


def test_double_negation_cancels():
    text = "Lukashenko insisted Belarus had no intention of abandoning its no-nuclear status."
    assert triples(text) == {("lukashenko", "nuclear-weapons-in-belarus", Stance.OPPOSES)}


def test_direct_quote_attributed_after_the_quotation_scores_higher():
    quoted = extract("“Our regular troops are not needed there,” Lukashenko said.").statements
    reported = extract("Lukashenko said regular troops were not needed there.").statements
    assert quoted[0].command.kind == StatementKind.DIRECT_QUOTE
    assert quoted[0].command.quote == "Our regular troops are not needed there,"
    assert reported[0].command.kind == StatementKind.PARAPHRASE
    assert quoted[0].command.confidence > reported[0].command.confidence


def test_he_said_resolves_to_the_named_person():
    text = (
        "Lukashenko visited a base near Brest. “Our regular troops are not needed there,” he said."
    )
    assert triples(text) == {("lukashenko", "belarus-troops-to-ukraine", Stance.OPPOSES)}


def test_two_leaders_one_sentence_each_gets_their_own():
    text = (
        "Putin justified the special military operation, while Tokayev said Kazakhstan would "
        "not recognize the Donetsk republic."
    )
    assert triples(text) == {
        ("putin", "war-justified", Stance.SUPPORTS),
        ("tokayev", "ukraine-sovereignty", Stance.SUPPORTS),
    }


def test_object_of_the_speech_verb_is_not_the_speaker():
    text = "Lukashenko told Putin that NATO states were training to deliver nuclear warheads."
    assert triples(text) == {("lukashenko", "nato-nuclear-threat", Stance.SUPPORTS)}


def test_joint_subjects_both_hold_it():
    text = "Putin and Lukashenko agreed to the stationing of nuclear weapons in Belarus."
    assert {actor for actor, _, _ in triples(text)} == {"putin", "lukashenko"}


def test_third_party_reports_and_opponent_quotes_are_not_the_leaders_statements():
    assert (
        triples("Putin said Lukashenko had agreed to the stationing of nuclear weapons.") == set()
    )
    assert (
        triples("Kremlin spokesman Dmitry Peskov said Putin justified the invasion of Ukraine.")
        == set()
    )
    opponent = "“Lukashenko will send troops soon,” Sviatlana Tsikhanouskaya told reporters."
    assert triples(opponent) == set()


def test_possessive_and_prepositional_mentions_do_not_speak():
    assert triples("Putin's spokesman said the special military operation was justified.") == set()
    assert triples(
        "Unlike Lukashenko, Tokayev refused to side with Putin over the war against Ukraine."
    ) == {("tokayev", "war-justified", Stance.OPPOSES)}


def test_irrelevant_mentions_and_items_without_statements_give_nothing():
    assert triples("Putin and Lukashenko watched an ice hockey final in Sochi.") == set()
    assert triples("Belarus and Russia held joint air defence drills near the border.") == set()


def test_topic_needs_a_keyword_and_bare_rejections_need_their_object():
    assert triples("Japarov rejected the proposal.") == set()
    assert triples("Japarov rejected a Russian request to build a biosafety lab.") == {
        ("japarov", "kyrgyz-biosafety-lab", Stance.OPPOSES)
    }


def test_shared_cue_goes_to_the_topic_with_its_own_keyword():
    text = "Putin said Russia had sent troops to Kazakhstan under the CSTO."
    assert triples(text) == {("putin", "csto-kazakhstan-intervention", Stance.SUPPORTS)}


def test_headline_keyword_gives_the_topic_for_a_specific_cue():
    assert triples(
        "Lukashenko repeated the Kremlin's narrative on Independence Day.",
        title="Lukashenko echoes Kremlin line on war against Ukraine",
    ) == {("lukashenko", "war-justified", Stance.SUPPORTS)}


def test_generic_stance_verb_on_a_proposition_keyword():
    assert triples("Kamilov said Uzbekistan did not support the war against Ukraine.") == {
        ("kamilov", "war-justified", Stance.OPPOSES)
    }


def test_never_an_actor_or_topic_outside_the_catalog():
    small = ExtractionCatalog(
        actors=(ActorEntry("putin", "Vladimir Putin"),),
        topics=(TopicEntry("war", ("war against Ukraine",), StanceCues(supports=("justified",))),),
    )
    result = extract(
        "Lukashenko said the war against Ukraine was justified. Putin said the war against "
        "Ukraine was justified and that nuclear weapons would be stationed in Belarus.",
        catalog=small,
    )
    assert {(s.command.actor_id, s.command.topic_id) for s in result.statements} == {
        ("putin", "war")
    }


def test_statement_ids_are_deterministic_and_items_without_a_link_record_nothing():
    first = extract("Putin said the special military operation was justified.").statements
    again = extract("Putin said the special military operation was justified.").statements
    assert first[0].command.statement_id == again[0].command.statement_id
    assert first[0].command.statement_id == extracted_statement_id(
        "feed-1", "h" * 64, "putin", "war-justified"
    )
    no_link = extract_statements(
        item("Putin said the special military operation was justified.", link=None),
        catalog=CATALOG, feed_id="feed-1", publisher="Wire", observed_at=OBSERVED,
    )  # fmt: skip
    assert no_link.statements == ()
    assert any("no link" in note for note in no_link.notes)


def test_future_dates_are_clamped_to_the_observation_time():
    future = FeedItem(
        guid_hash="x" * 64, guid=None, link="https://example.org/f", title="",
        text="Putin said the special military operation was justified.",
        published_at=datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    result = extract_statements(
        future, catalog=CATALOG, feed_id="f", publisher="W", observed_at=OBSERVED
    )
    assert result.statements[0].command.stated_at == OBSERVED


def test_a_word_of_the_topic_keyword_does_not_negate_the_cue():
    found = triples("Putin told the Security Council that the war against Ukraine was justified.")
    assert found == {("putin", "war-justified", Stance.SUPPORTS)}
