"""The actor and topic catalog as it stands now."""

from collections.abc import Callable, Iterable, Sequence
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


@dataclass(frozen=True)
class Resolved:
    """What a list of names given for a filter means: the ids, one per name in the order given,
    for the names that mean exactly one entry; the names that mean none; and those that mean
    several, each with the ids it may mean."""

    ids: list[str]
    unknown: list[str]
    ambiguous: dict[str, list[str]]


def resolve_actors(connection: Connection, names: Sequence[str]) -> Resolved:
    """The actors each of ``names`` may mean: the one with that id, else every actor whose id,
    name or alias it is, ignoring case. Readers type what they read, and a leader's name comes
    in several transliterations (Lukashenka, Tokaev), which the catalog keeps as aliases; a
    filter that silently matched nothing would read as "no stance". Two reads at most: the
    ids among the names, then (only if some are no id) the catalog once, however many names a
    filter gives."""
    return _resolve(connection, names, _T.actors, _actor, _actor_names)


def resolve_topics(connection: Connection, names: Sequence[str]) -> Resolved:
    """The topics each of ``names`` may mean: the one with that id, else those titled so,
    ignoring case; read as ``resolve_actors`` reads."""
    return _resolve(connection, names, _T.topics, _topic, _topic_names)


def _resolve(
    connection: Connection,
    names: Sequence[str],
    table: Table,
    view: Callable[[Any], View],
    names_of: Callable[[View], Iterable[str]],
) -> Resolved:
    key = next(iter(table.primary_key.columns))
    ids = set(connection.execute(select(key).where(key.in_(set(names)))).scalars())
    meanings: dict[str, list[str]] = {}
    if any(name not in ids for name in names):
        rows = connection.execute(select(table).order_by(key)).mappings()
        for row in rows:
            for each in {n.casefold() for n in names_of(view(row))}:
                meanings.setdefault(each, []).append(row[key.name])
    found, unknown, ambiguous = [], [], {}
    for name in names:
        meant = [name] if name in ids else meanings.get(name.casefold(), [])
        if len(meant) == 1:
            found.append(meant[0])
        elif meant:
            ambiguous[name] = meant
        else:
            unknown.append(name)
    return Resolved(found, unknown, ambiguous)


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
