"""The extraction catalog as the read models hold it now.

Extraction must only ever name actors and topics the catalog has, so it reads them from the
``actors`` and ``topics`` read models at the start of each cycle: an actor registered (or an alias
added) a minute ago is found in the next cycle, without restarting anything.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy import Connection

from service.db import Database
from service.domain.values import ActorKind, StanceCues
from service.feeds.catalog import ActorEntry, ExtractionCatalog, TopicEntry
from service.queries import ActorView, TopicView, list_actors, list_topics

_PAGE = 500
_CUE_FIELDS = frozenset(field.name for field in fields(StanceCues))
_View = TypeVar("_View", ActorView, TopicView)


def load_catalog(database: Database) -> ExtractionCatalog:
    with database.read() as session:
        connection = session.connection()
        actors = _every(connection, list_actors, key=lambda actor: actor.actor_id)
        topics = _every(connection, list_topics, key=lambda topic: topic.topic_id)
    return ExtractionCatalog(
        actors=tuple(
            ActorEntry(
                actor_id=actor.actor_id,
                name=actor.name,
                aliases=tuple(actor.aliases),
                is_person=actor.kind == ActorKind.PERSON.value,
            )
            for actor in actors
        ),
        topics=tuple(
            TopicEntry(
                topic_id=topic.topic_id,
                keywords=tuple(topic.keywords),
                cues=stance_cues(topic.cues),
                proposition=topic.proposition,
            )
            for topic in topics
        ),
    )


def stance_cues(stored: Mapping[str, Any]) -> StanceCues:
    """Cues as the topic's event stored them (stance → phrases), unknown stances ignored."""
    return StanceCues(
        **{
            stance: tuple(str(phrase) for phrase in phrases)
            for stance, phrases in stored.items()
            if stance in _CUE_FIELDS
            and isinstance(phrases, Sequence)
            and not isinstance(phrases, str)
        }
    )


def _every(
    connection: Connection,
    page: Callable[..., list[_View]],
    *,
    key: Callable[[_View], str],
) -> list[_View]:
    found: list[_View] = []
    after: str | None = None
    while True:
        batch = page(connection, after=after, limit=_PAGE)
        found.extend(batch)
        if len(batch) < _PAGE:
            return found
        after = key(batch[-1])
