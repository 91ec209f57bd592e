"""Actor and Topic aggregates: the catalog statements refer to.

Both follow the same pattern as statements: a pure function or method checks the command against
the current state and returns the event to record; state changes only in ``apply``, so replaying the
stream rebuilds exactly the state that the checks saw.
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from service.domain.commands import CuesInput, DefineTopic, RegisterActor, UpdateActor, UpdateTopic
from service.domain.errors import (
    ActorAlreadyRegistered,
    InvalidField,
    TopicAlreadyDefined,
    UnknownActor,
    UnknownTopic,
)
from service.domain.events import (
    ActorChanges,
    ActorRegistered,
    ActorUpdated,
    DomainEvent,
    TopicChanges,
    TopicDefined,
    TopicUpdated,
    changed_fields,
)
from service.domain.stances import Stance, parse_stance
from service.domain.validation import (
    check_country,
    check_slug,
    check_text,
    check_wikidata_id,
    optional_text,
    parse_choice,
    unique_phrases,
)
from service.domain.values import UNCHANGED, ActorKind, StanceCues


@dataclass
class Actor:
    """Someone whose positions are tracked: a person, a group, an institution or a state."""

    actor_id: str
    name: str
    kind: ActorKind
    country: str | None
    role: str | None
    aliases: tuple[str, ...]
    wikidata_id: str | None
    version: int = 0

    @classmethod
    def from_events(cls, events: Sequence[DomainEvent]) -> "Actor":
        """Rebuild an actor from its stream, oldest event first."""
        if not events or not isinstance(events[0], ActorRegistered):
            raise ValueError("an actor stream starts with ActorRegistered")
        registered = events[0]
        actor = cls(**{f.name: getattr(registered, f.name) for f in fields(registered)})
        for event in events[1:]:
            actor.apply(event)
        return actor

    def apply(self, event: DomainEvent) -> None:
        if not isinstance(event, ActorUpdated) or event.actor_id != self.actor_id:
            raise ValueError(f"{type(event).__name__} does not apply to actor {self.actor_id}")
        for name, value in changed_fields(event.changes).items():
            setattr(self, name, value)
        self.version += 1

    def update(self, cmd: UpdateActor) -> ActorUpdated:
        """Record only the fields that really change; an update that changes nothing is refused."""
        proposed: dict[str, Any] = {}
        if cmd.name is not UNCHANGED:
            proposed["name"] = check_text(cmd.name, field="name")
        if cmd.kind is not UNCHANGED:
            proposed["kind"] = parse_choice(ActorKind, cmd.kind, field="kind")
        if cmd.country is not UNCHANGED:
            proposed["country"] = check_country(cmd.country)
        if cmd.role is not UNCHANGED:
            proposed["role"] = optional_text(cmd.role, field="role")
        if cmd.aliases is not UNCHANGED:
            proposed["aliases"] = unique_phrases(cmd.aliases, field="aliases")
        if cmd.wikidata_id is not UNCHANGED:
            proposed["wikidata_id"] = check_wikidata_id(cmd.wikidata_id)
        changes = {name: value for name, value in proposed.items() if getattr(self, name) != value}
        if not changes:
            raise InvalidField(f"the update changes nothing on actor {self.actor_id!r}")
        return ActorUpdated(actor_id=self.actor_id, changes=ActorChanges(**changes))


def register_actor(cmd: RegisterActor, *, existing: Actor | None = None) -> ActorRegistered:
    """Check a new actor; ``existing`` is what the actor's stream already holds, if anything."""
    actor_id = check_slug(cmd.actor_id, field="actor_id")
    if existing is not None:
        raise ActorAlreadyRegistered(f"actor {actor_id!r} is already registered")
    return ActorRegistered(
        actor_id=actor_id,
        name=check_text(cmd.name, field="name"),
        kind=parse_choice(ActorKind, cmd.kind, field="kind"),
        country=check_country(cmd.country),
        role=optional_text(cmd.role, field="role"),
        aliases=unique_phrases(cmd.aliases, field="aliases"),
        wikidata_id=check_wikidata_id(cmd.wikidata_id),
    )


def load_actor(actor_id: str, events: Sequence[DomainEvent]) -> Actor:
    """The actor behind a stream, or ``UnknownActor`` when the stream is empty."""
    if not events:
        raise UnknownActor(f"unknown actor {actor_id!r}")
    return Actor.from_events(events)


@dataclass
class Topic:
    """A question positions are taken on, phrased as a proposition one supports or opposes."""

    topic_id: str
    title: str
    proposition: str
    keywords: tuple[str, ...]
    cues: StanceCues
    version: int = 0

    @classmethod
    def from_events(cls, events: Sequence[DomainEvent]) -> "Topic":
        """Rebuild a topic from its stream, oldest event first."""
        if not events or not isinstance(events[0], TopicDefined):
            raise ValueError("a topic stream starts with TopicDefined")
        defined = events[0]
        topic = cls(**{f.name: getattr(defined, f.name) for f in fields(defined)})
        for event in events[1:]:
            topic.apply(event)
        return topic

    def apply(self, event: DomainEvent) -> None:
        if not isinstance(event, TopicUpdated) or event.topic_id != self.topic_id:
            raise ValueError(f"{type(event).__name__} does not apply to topic {self.topic_id}")
        for name, value in changed_fields(event.changes).items():
            setattr(self, name, value)
        self.version += 1

    def update(self, cmd: UpdateTopic) -> TopicUpdated:
        """Record only the fields that really change; an update that changes nothing is refused."""
        proposed: dict[str, Any] = {}
        if cmd.title is not UNCHANGED:
            proposed["title"] = check_text(cmd.title, field="title")
        if cmd.proposition is not UNCHANGED:
            proposed["proposition"] = check_text(cmd.proposition, field="proposition")
        if cmd.keywords is not UNCHANGED:
            proposed["keywords"] = unique_phrases(cmd.keywords, field="keywords")
        if cmd.cues is not UNCHANGED:
            proposed["cues"] = check_cues(cmd.cues)
        changes = {name: value for name, value in proposed.items() if getattr(self, name) != value}
        if not changes:
            raise InvalidField(f"the update changes nothing on topic {self.topic_id!r}")
        return TopicUpdated(topic_id=self.topic_id, changes=TopicChanges(**changes))


def define_topic(cmd: DefineTopic, *, existing: Topic | None = None) -> TopicDefined:
    """Check a new topic; ``existing`` is what the topic's stream already holds, if anything."""
    topic_id = check_slug(cmd.topic_id, field="topic_id")
    if existing is not None:
        raise TopicAlreadyDefined(f"topic {topic_id!r} is already defined")
    return TopicDefined(
        topic_id=topic_id,
        title=check_text(cmd.title, field="title"),
        proposition=check_text(cmd.proposition, field="proposition"),
        keywords=unique_phrases(cmd.keywords, field="keywords"),
        cues=check_cues(cmd.cues),
    )


def load_topic(topic_id: str, events: Sequence[DomainEvent]) -> Topic:
    """The topic behind a stream, or ``UnknownTopic`` when the stream is empty."""
    if not events:
        raise UnknownTopic(f"unknown topic {topic_id!r}")
    return Topic.from_events(events)


def check_cues(cues: CuesInput) -> StanceCues:
    """Cue phrases per stance, from a ``StanceCues`` or a mapping of stance labels to phrases."""
    if isinstance(cues, StanceCues):
        by_stance: dict[Stance, list[str]] = {
            stance: list(cues.for_stance(stance)) for stance in Stance
        }
    else:
        by_stance = {stance: [] for stance in Stance}
        for label, phrases in cues.items():
            stance = parse_stance(label, field="cues")
            if isinstance(phrases, str):
                raise InvalidField(f"cues.{stance} must be a list of phrases", field="cues")
            by_stance[stance].extend(phrases)
    return StanceCues(
        **{
            stance.value: unique_phrases(phrases, field=f"cues.{stance.value}")
            for stance, phrases in by_stance.items()
        }
    )
