from dataclasses import replace
from typing import Any

import pytest

from service.domain.catalog import (
    Actor,
    Topic,
    define_topic,
    load_actor,
    load_topic,
    register_actor,
)
from service.domain.commands import DefineTopic, RegisterActor, UpdateActor, UpdateTopic
from service.domain.errors import (
    ActorAlreadyRegistered,
    DomainError,
    InvalidField,
    TopicAlreadyDefined,
    UnknownActor,
    UnknownStance,
    UnknownTopic,
)
from service.domain.events import ActorChanges, TopicChanges
from service.domain.stances import Stance
from service.domain.values import ActorKind, StanceCues

REGISTER = RegisterActor(
    actor_id="lukashenko",
    name=" Alexander Lukashenko ",
    kind="person",
    country="BY",
    role="  ",
    aliases=(" Lukashenka", "Łukašenka", "lukashenka", "", "Łukašenka "),
)
DEFINE = DefineTopic(
    topic_id="war-justified",
    title="Russia's war against Ukraine",
    proposition="Russia's war against Ukraine is justified",
    keywords=("Ukraine", " ukraine ", "special military operation"),
    cues={"supports": ["backs", " supports ", "Backs"], "OPPOSES": ["condemns"]},
)


def test_register_actor_normalises_its_input() -> None:
    event = register_actor(REGISTER)
    assert event.name == "Alexander Lukashenko"
    assert event.kind is ActorKind.PERSON
    assert event.role is None
    assert event.aliases == ("Lukashenka", "Łukašenka")
    assert event.wikidata_id is None


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"actor_id": "Lukashenko"}, InvalidField, "actor_id"),
        ({"actor_id": "-lukashenko"}, InvalidField, "actor_id"),
        ({"actor_id": "luka shenko"}, InvalidField, "actor_id"),
        ({"actor_id": "a" * 64}, InvalidField, "actor_id"),
        ({"actor_id": "lukashenko\n"}, InvalidField, "actor_id"),
        ({"name": "   "}, InvalidField, "name"),
        ({"kind": "dictator"}, InvalidField, "kind"),
        ({"country": "by"}, InvalidField, "country"),
        ({"country": "BLR"}, InvalidField, "country"),
        ({"wikidata_id": "7747"}, InvalidField, "wikidata_id"),
        ({"aliases": "Lukashenka"}, InvalidField, "aliases"),
    ],
)
def test_register_actor_guards(
    overrides: dict[str, Any], error: type[DomainError], field: str
) -> None:
    with pytest.raises(error) as raised:
        register_actor(replace(REGISTER, **overrides))
    assert raised.value.field == field


def test_register_actor_accepts_the_longest_slug_and_no_country() -> None:
    event = register_actor(replace(REGISTER, actor_id="a" * 63, country=None, kind="group"))
    assert (len(event.actor_id), event.country) == (63, None)


def test_an_actor_is_registered_once() -> None:
    existing = Actor.from_events([register_actor(REGISTER)])
    with pytest.raises(ActorAlreadyRegistered) as raised:
        register_actor(REGISTER, existing=existing)
    assert raised.value.code == "actor-already-registered"


def test_update_records_only_what_changes_and_apply_follows_it() -> None:
    actor = Actor.from_events([register_actor(REGISTER)])
    event = actor.update(
        UpdateActor(actor_id="lukashenko", country="BY", role="President of Belarus")
    )
    assert event.changes == ActorChanges(role="President of Belarus")
    actor.apply(event)
    assert (actor.role, actor.version) == ("President of Belarus", 1)


def test_update_can_clear_a_country() -> None:
    actor = Actor.from_events([register_actor(REGISTER)])
    assert actor.update(UpdateActor(actor_id="lukashenko", country=None)).changes == ActorChanges(
        country=None
    )


def test_an_update_that_changes_nothing_is_refused() -> None:
    actor = Actor.from_events([register_actor(REGISTER)])
    with pytest.raises(InvalidField):
        actor.update(UpdateActor(actor_id="lukashenko", name="Alexander Lukashenko"))
    with pytest.raises(InvalidField):
        actor.update(UpdateActor(actor_id="lukashenko"))


def test_update_validates_the_new_values() -> None:
    actor = Actor.from_events([register_actor(REGISTER)])
    with pytest.raises(InvalidField) as raised:
        actor.update(UpdateActor(actor_id="lukashenko", country="Belarus"))
    assert raised.value.field == "country"


def test_loading_an_empty_stream_is_an_unknown_actor_or_topic() -> None:
    with pytest.raises(UnknownActor):
        load_actor("nobody", [])
    with pytest.raises(UnknownTopic):
        load_topic("nothing", [])


def test_define_topic_normalises_keywords_and_cues() -> None:
    event = define_topic(DEFINE)
    assert event.keywords == ("Ukraine", "special military operation")
    assert event.cues.for_stance(Stance.SUPPORTS) == ("backs", "supports")
    assert event.cues.for_stance(Stance.OPPOSES) == ("condemns",)
    assert event.cues.for_stance(Stance.NEUTRAL) == ()


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"topic_id": "War"}, InvalidField, "topic_id"),
        ({"title": ""}, InvalidField, "title"),
        ({"proposition": " "}, InvalidField, "proposition"),
        ({"cues": {"agrees": ["backs"]}}, UnknownStance, "cues"),
        ({"cues": {"supports": "backs"}}, InvalidField, "cues"),
    ],
)
def test_define_topic_guards(
    overrides: dict[str, Any], error: type[DomainError], field: str
) -> None:
    with pytest.raises(error) as raised:
        define_topic(replace(DEFINE, **overrides))
    assert raised.value.field == field


def test_a_topic_is_defined_once() -> None:
    with pytest.raises(TopicAlreadyDefined):
        define_topic(DEFINE, existing=Topic.from_events([define_topic(DEFINE)]))


def test_topic_update_and_apply() -> None:
    topic = Topic.from_events([define_topic(DEFINE)])
    event = topic.update(
        UpdateTopic(topic_id="war-justified", title=DEFINE.title, cues=StanceCues(neutral=("x",)))
    )
    assert event.changes == TopicChanges(cues=StanceCues(neutral=("x",)))
    topic.apply(event)
    assert (topic.cues.neutral, topic.version) == (("x",), 1)
    with pytest.raises(InvalidField):
        topic.update(UpdateTopic(topic_id="war-justified", cues={"neutral": ["x"]}))


def test_apply_refuses_events_of_another_stream() -> None:
    actor = Actor.from_events([register_actor(REGISTER)])
    with pytest.raises(ValueError):
        actor.apply(register_actor(REGISTER))
