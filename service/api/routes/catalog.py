"""The actor and topic catalog: register, list, read."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from service.api.catalog_schemas import (
    ActorIn,
    ActorOut,
    ActorPage,
    CatalogWritten,
    TopicIn,
    TopicOut,
    TopicPage,
)
from service.api.deps import ReaderDep, RuntimeDep, WriterDep
from service.api.openapi import READ_PROBLEMS, WRITE_PROBLEMS, problem_responses
from service.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, keyset_page
from service.api.problems import NotFound
from service.domain.commands import DefineTopic, RegisterActor
from service.domain.values import StanceCues
from service.queries import get_actor, get_topic, list_actors, list_topics

Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
_WRITE = {**WRITE_PROBLEMS, **problem_responses(409)}
_ONE = {**READ_PROBLEMS, **problem_responses(404)}

router = APIRouter(prefix="/v1", tags=["catalog"])


def _after(cursor: str | None, kind: str) -> str | None:
    return None if cursor is None else str(decode_cursor(cursor, kind=kind).get("after"))


@router.get("/actors", summary="List actors", response_model=ActorPage, responses=READ_PROBLEMS)
def actors(
    runtime: RuntimeDep, _reader: ReaderDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> ActorPage:
    with runtime.database.read() as session:
        found = list_actors(session.connection(), after=_after(cursor, "actors"), limit=limit + 1)
    page, next_cursor = keyset_page(found, limit=limit, kind="actors", after=lambda a: a.actor_id)
    return ActorPage(items=[ActorOut.of(a) for a in page], next_cursor=next_cursor)


@router.get("/actors/{actor_id}", summary="One actor", response_model=ActorOut, responses=_ONE)
def actor(actor_id: Slug, runtime: RuntimeDep, _reader: ReaderDep) -> ActorOut:
    with runtime.database.read() as session:
        found = get_actor(session.connection(), actor_id)
    if found is None:
        raise NotFound(f"no actor {actor_id!r}")
    return ActorOut.of(found)


@router.post(
    "/actors",
    status_code=status.HTTP_201_CREATED,
    summary="Register an actor",
    response_model=CatalogWritten,
    responses=_WRITE,
)
def register_actor(body: ActorIn, runtime: RuntimeDep, principal: WriterDep) -> CatalogWritten:
    command = RegisterActor(
        actor_id=body.actor_id,
        name=body.name,
        kind=body.kind,
        country=body.country,
        role=body.role,
        aliases=tuple(body.aliases),
        wikidata_id=body.wikidata_id,
    )
    result = runtime.services.bus.execute(
        command, metadata={"recorded_by": f"key:{principal.name}"}
    )
    return CatalogWritten(id=body.actor_id, position=result.position, duplicate=result.duplicate)


@router.get("/topics", summary="List topics", response_model=TopicPage, responses=READ_PROBLEMS)
def topics(
    runtime: RuntimeDep, _reader: ReaderDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> TopicPage:
    with runtime.database.read() as session:
        found = list_topics(session.connection(), after=_after(cursor, "topics"), limit=limit + 1)
    page, next_cursor = keyset_page(found, limit=limit, kind="topics", after=lambda t: t.topic_id)
    return TopicPage(items=[TopicOut.of(t) for t in page], next_cursor=next_cursor)


@router.get("/topics/{topic_id}", summary="One topic", response_model=TopicOut, responses=_ONE)
def topic(topic_id: Slug, runtime: RuntimeDep, _reader: ReaderDep) -> TopicOut:
    with runtime.database.read() as session:
        found = get_topic(session.connection(), topic_id)
    if found is None:
        raise NotFound(f"no topic {topic_id!r}")
    return TopicOut.of(found)


@router.post(
    "/topics",
    status_code=status.HTTP_201_CREATED,
    summary="Define a topic",
    response_model=CatalogWritten,
    responses=_WRITE,
)
def define_topic(body: TopicIn, runtime: RuntimeDep, principal: WriterDep) -> CatalogWritten:
    cues = body.cues
    command = DefineTopic(
        topic_id=body.topic_id,
        title=body.title,
        proposition=body.proposition,
        keywords=tuple(body.keywords),
        cues=StanceCues(
            opposes=tuple(cues.opposes),
            leans_opposes=tuple(cues.leans_opposes),
            neutral=tuple(cues.neutral),
            leans_supports=tuple(cues.leans_supports),
            supports=tuple(cues.supports),
        ),
    )
    result = runtime.services.bus.execute(
        command, metadata={"recorded_by": f"key:{principal.name}"}
    )
    return CatalogWritten(id=body.topic_id, position=result.position, duplicate=result.duplicate)
