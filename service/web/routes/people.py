"""``/actors/{actor}``: one actor on every topic; ``/actors/{actor}/{topic}``: the timeline."""

from typing import Final

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import HTMLResponse

from service.queries import (
    ActorView,
    TopicView,
    get_actor,
    get_topic,
    stance,
    stance_history,
    stances,
)
from service.queries.statements import statements_on_pair
from service.web.access import PageReader, runtime_of
from service.web.errors import not_found
from service.web.matrix import sorted_topics
from service.web.params import Times, checked_slug
from service.web.reads import all_topics
from service.web.templating import render
from service.web.timeline import build_timeline

MAX_STATEMENTS: Final = 500
"""A timeline shows at most this many statements, the latest stated; the API pages the rest."""

router = APIRouter(include_in_schema=False)


def _actor(connection: Connection, actor_id: str) -> ActorView:
    found = get_actor(connection, checked_slug(actor_id, "actor"))
    if found is None:
        raise not_found(f"There is no actor {actor_id!r}.")
    return found


def _topic(connection: Connection, topic_id: str) -> TopicView:
    found = get_topic(connection, checked_slug(topic_id, "topic"))
    if found is None:
        raise not_found(f"There is no topic {topic_id!r}.")
    return found


@router.get("/actors/{actor_id}", response_class=HTMLResponse)
def actor_page(request: Request, actor_id: str, _reader: PageReader, times: Times) -> HTMLResponse:
    with runtime_of(request).database.read() as session:
        connection = session.connection()
        actor = _actor(connection, actor_id)
        topics = sorted_topics(all_topics(connection))
        found = stances(
            connection, as_of=times.as_of, known_at=times.known_at, actor_ids=[actor.actor_id]
        )
    by_topic = {view.topic_id: view for view in found}
    rows = [(topic, by_topic.get(topic.topic_id)) for topic in topics]
    return render(request, "actor.html", times=times, actor=actor, rows=rows, count=len(found))


class _Names:
    """Names of the actors and topics a timeline's corrections mention, looked up once each."""

    def __init__(self, connection: Connection, actor: ActorView, topic: TopicView) -> None:
        self._connection = connection
        self._actors = {actor.actor_id: actor.name}
        self._topics = {topic.topic_id: topic.title}

    def actor(self, actor_id: str) -> str:
        if actor_id not in self._actors:
            found = get_actor(self._connection, actor_id)
            self._actors[actor_id] = found.name if found else actor_id
        return self._actors[actor_id]

    def topic(self, topic_id: str) -> str:
        if topic_id not in self._topics:
            found = get_topic(self._connection, topic_id)
            self._topics[topic_id] = found.title if found else topic_id
        return self._topics[topic_id]


@router.get("/actors/{actor_id}/{topic_id}", response_class=HTMLResponse)
def timeline_page(
    request: Request, actor_id: str, topic_id: str, _reader: PageReader, times: Times
) -> HTMLResponse:
    with runtime_of(request).database.read() as session:
        connection = session.connection()
        actor, topic = _actor(connection, actor_id), _topic(connection, topic_id)
        held = stance(
            connection, actor.actor_id, topic.topic_id, as_of=times.as_of, known_at=times.known_at
        )
        names = _Names(connection, actor, topic)
        found = statements_on_pair(connection, actor.actor_id, topic.topic_id, limit=MAX_STATEMENTS)
        timeline = build_timeline(
            found,
            stance_history(connection, actor.actor_id, topic.topic_id),
            actor_id=actor.actor_id,
            topic_id=topic.topic_id,
            as_of=times.as_of,
            known_at=times.known_at,
            actor=names.actor,
            topic=names.topic,
        )
    return render(
        request,
        "timeline.html",
        times=times,
        actor=actor,
        topic=topic,
        held=held,
        timeline=timeline,
        truncated=len(found) >= MAX_STATEMENTS,
    )
