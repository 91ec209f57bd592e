"""The actor and topic catalog as it stands now."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, select

from service.store.read_model_tables import ReadModelTables

_T = ReadModelTables.live()


@dataclass(frozen=True)
class ActorView:
    actor_id: str
    name: str
    kind: str
    country: str | None
    role: str | None
    aliases: list[str]
    wikidata_id: str | None


@dataclass(frozen=True)
class TopicView:
    topic_id: str
    title: str
    proposition: str
    keywords: list[str]
    cues: dict[str, Any]


View = TypeVar("View", ActorView, TopicView)


def list_actors(
    connection: Connection, *, after: str | None = None, limit: int = 50
) -> list[ActorView]:
    """Actors in id order, ``limit`` of them after the id ``after`` (keyset paging)."""
    actors = _T.actors
    query = select(actors).order_by(actors.c.actor_id).limit(limit)
    if after is not None:
        query = query.where(actors.c.actor_id > after)
    return [_actor(row) for row in connection.execute(query).mappings()]


def get_actor(connection: Connection, actor_id: str) -> ActorView | None:
    row = (
        connection.execute(select(_T.actors).where(_T.actors.c.actor_id == actor_id))
        .mappings()
        .first()
    )
    return None if row is None else _actor(row)


def list_topics(
    connection: Connection, *, after: str | None = None, limit: int = 50
) -> list[TopicView]:
    """Topics in id order, ``limit`` of them after the id ``after`` (keyset paging)."""
    topics = _T.topics
    query = select(topics).order_by(topics.c.topic_id).limit(limit)
    if after is not None:
        query = query.where(topics.c.topic_id > after)
    return [_topic(row) for row in connection.execute(query).mappings()]


def get_topic(connection: Connection, topic_id: str) -> TopicView | None:
    row = (
        connection.execute(select(_T.topics).where(_T.topics.c.topic_id == topic_id))
        .mappings()
        .first()
    )
    return None if row is None else _topic(row)


def find_actors(connection: Connection, name: str) -> list[ActorView]:
    """The actors ``name`` may mean: the one with that id, else every actor whose id, name or
    alias it is, ignoring case. Readers type what they read, and a leader's name comes in
    several transliterations (Lukashenka, Tokaev), which the catalog keeps as aliases; a
    filter that silently matched nothing would read as "no stance"."""
    return _named(connection, name, get_actor, _T.actors, _actor, _actor_names)


def find_topics(connection: Connection, name: str) -> list[TopicView]:
    """The topics ``name`` may mean: the one with that id, else those titled so, ignoring case."""
    return _named(connection, name, get_topic, _T.topics, _topic, _topic_names)


def _named(
    connection: Connection,
    name: str,
    get: Callable[[Connection, str], View | None],
    table: Table,
    view: Callable[[Any], View],
    names_of: Callable[[View], Iterable[str]],
) -> list[View]:
    """The entry with id ``name``, else those ``names_of`` gives it for, in id order. The
    catalog (leaders and topics, not statements) is read whole only when ``name`` is no id."""
    exact = get(connection, name)
    if exact is not None:
        return [exact]
    wanted = name.casefold()
    rows = connection.execute(select(table).order_by(*table.primary_key.columns)).mappings()
    return [each for each in map(view, rows) if wanted in {n.casefold() for n in names_of(each)}]


def _actor_names(actor: ActorView) -> Iterable[str]:
    return (actor.actor_id, actor.name, *actor.aliases)


def _topic_names(topic: TopicView) -> Iterable[str]:
    return (topic.topic_id, topic.title)


def _actor(row: Any) -> ActorView:
    return ActorView(
        actor_id=row["actor_id"],
        name=row["name"],
        kind=row["kind"],
        country=row["country"],
        role=row["role"],
        aliases=list(row["aliases"]),
        wikidata_id=row["wikidata_id"],
    )


def _topic(row: Any) -> TopicView:
    return TopicView(
        topic_id=row["topic_id"],
        title=row["title"],
        proposition=row["proposition"],
        keywords=list(row["keywords"]),
        cues=dict(row["cues"]),
    )
