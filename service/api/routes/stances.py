"""Stances: the matrix now or replayed, one stance with its statement, and its history.

The matrix and the single stance are answered from the response cache (``service.readcache``):
the same query at the same read-model version is the same bytes, serialized once, with an
``ETag`` for conditional requests. The routes are ``async`` so a cached answer never waits for
a worker thread; a miss runs the query in one (``CachedReads.answer``). Each raw request they
answer is written down, so ``CacheFrontMiddleware`` can answer its repeats before routing.
"""

from typing import Annotated, Final

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from service.api.cache_front import remember_request
from service.api.cached_responses import NOT_MODIFIED, IfNoneMatch, cached_response
from service.api.consistency import MIN_POSITION_PROBLEMS, MinPositionDep
from service.api.deps import ReaderDep, RuntimeDep
from service.api.openapi import READ_PROBLEMS, problem_responses
from service.api.pagination import Cursor, decode_cursor, encode_cursor
from service.api.problems import BadRequest, NotFound
from service.api.stance_json import matrix_body, stance_body
from service.api.stance_schemas import StanceChangeOut, StanceHistory, StanceMatrix, StanceOut
from service.api.times import AsOf, KnownAt, parse_time
from service.db import Database
from service.queries import (
    get_actor,
    get_topic,
    resolve_actors,
    resolve_topics,
    stance,
    stance_history,
    stances,
)
from service.queries.catalog import Resolved
from service.readcache import Built

MAX_MATRIX: Final = 10_000
"""A whole matrix (100 actors x 50 topics) fits in one page; the dashboard asks for it so."""

Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", examples=["lukashenko"])]
Ids = Annotated[list[Annotated[str, Query(max_length=64)]] | None, Query(max_length=500)]

router = APIRouter(prefix="/v1/stances", tags=["stances"])


@router.get(
    "",
    summary="The stance matrix, now or replayed",
    response_model=StanceMatrix,
    responses={
        **NOT_MODIFIED,
        **READ_PROBLEMS,
        **MIN_POSITION_PROBLEMS,
        **problem_responses(400, 404),
    },
)
async def list_stances(
    request: Request,
    runtime: RuntimeDep,
    _reader: ReaderDep,
    _seen: MinPositionDep,
    actor: Annotated[
        Ids, Query(description="Only these actors (repeatable): ids, names or aliases.")
    ] = None,
    topic: Annotated[
        Ids, Query(description="Only these topics (repeatable): ids or titles.")
    ] = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    limit: Annotated[int, Query(ge=1, le=MAX_MATRIX)] = 1000,
    cursor: Cursor = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Every (actor, topic) with a stance, ordered by actor then topic.

    Without `as_of` and `known_at` these are the current stances. With `as_of`, the stances as
    they stood then; with `known_at`, as the record stood then, before later corrections.
    Silence is not a stance: a pair with no counting statement is absent. An `actor` or `topic`
    that names nothing in the catalog is a 404, one that may mean several a 400.
    """
    valid, known = parse_time(as_of, field="as_of"), parse_time(known_at, field="known_at")
    start = decode_cursor(cursor, kind="stances") if cursor else None
    after = (str(start.get("actor")), str(start.get("topic"))) if start is not None else None
    actor_ids, topic_ids = await _filter_ids(runtime.database, actor, topic)

    def build(connection: Connection) -> Built:
        found = stances(
            connection, as_of=valid, known_at=known, actor_ids=actor_ids, topic_ids=topic_ids
        )
        if after is not None:
            found = [s for s in found if (s.actor_id, s.topic_id) > after]
        page = found[:limit]
        next_cursor = (
            encode_cursor("stances", {"actor": page[-1].actor_id, "topic": page[-1].topic_id})
            if len(found) > limit
            else None
        )
        body = matrix_body(as_of=valid, known_at=known, views=page, next_cursor=next_cursor)
        return Built(200, body)

    key = ("stances", actor_ids, topic_ids, valid, known, limit, after)
    answer = await runtime.reads.answer(key, build)
    remember_request(request.scope, runtime.reads, key)
    return cached_response(
        answer, if_none_match=if_none_match, public=runtime.settings.public_reads
    )


async def _filter_ids(
    database: Database, actors: list[str] | None, topics: list[str] | None
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The ids the matrix's ``actor`` and ``topic`` filters mean: each an id, a name or an
    alias, as the command line takes them (``resolve_actors``). A name that means nothing is a
    404 and one that means several a 400, never an empty matrix, which would read as "no
    stance". Ids alone cost one indexed read each list; the catalog is read only for names."""
    if actors is None and topics is None:
        return None, None

    def resolve() -> tuple[Resolved | None, Resolved | None]:
        with database.read() as session:
            connection = session.connection()
            return (
                None if actors is None else resolve_actors(connection, actors),
                None if topics is None else resolve_topics(connection, topics),
            )

    by_actor, by_topic = await anyio.to_thread.run_sync(resolve)
    for kind, resolved in (("actor", by_actor), ("topic", by_topic)):
        if resolved is None:
            continue
        if resolved.unknown:
            plural = "s" if len(resolved.unknown) > 1 else ""
            raise NotFound(f"no {kind}{plural} {', '.join(map(repr, resolved.unknown))}")
        if resolved.ambiguous:
            name, meant = next(iter(resolved.ambiguous.items()))
            raise BadRequest(
                f"{kind} {name!r} may mean {', '.join(meant)}: give one of their ids",
                slug=f"ambiguous-{kind}",
                title=f"Ambiguous {kind}",
            )
    return (
        None if by_actor is None else tuple(by_actor.ids),
        None if by_topic is None else tuple(by_topic.ids),
    )


@router.get(
    "/{actor}/{topic}",
    summary="One stance with the statement behind it",
    response_model=StanceOut,
    responses={**NOT_MODIFIED, **READ_PROBLEMS, **MIN_POSITION_PROBLEMS, **problem_responses(404)},
)
async def get_stance(
    request: Request,
    runtime: RuntimeDep,
    _reader: ReaderDep,
    _seen: MinPositionDep,
    actor: Slug,
    topic: Slug,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The stance of `actor` on `topic`; 404 when there is none (silence is not a stance)."""
    valid, known = parse_time(as_of, field="as_of"), parse_time(known_at, field="known_at")

    def build(connection: Connection) -> Built:
        found = stance(connection, actor, topic, as_of=valid, known_at=known)
        return Built(404, b"") if found is None else Built(200, stance_body(found))

    key = ("stance", actor, topic, valid, known)
    answer = await runtime.reads.answer(key, build)
    remember_request(request.scope, runtime.reads, key)
    if answer.status == 404:
        raise NotFound(await _no_stance(runtime.database, actor, topic))
    return cached_response(
        answer, if_none_match=if_none_match, public=runtime.settings.public_reads
    )


async def _no_stance(database: Database, actor: str, topic: str) -> str:
    """Why there is no stance to show: no such actor, no such topic, or silence."""

    def missing() -> str | None:
        with database.read() as session:
            return _not_in_catalog(session.connection(), actor, topic)

    return await anyio.to_thread.run_sync(missing) or (
        f"{actor!r} has no stance on {topic!r} at that time"
    )


def _not_in_catalog(connection: Connection, actor: str, topic: str) -> str | None:
    """Which of ``actor`` and ``topic`` the catalog lacks, said for a 404; None: it has both."""
    if get_actor(connection, actor) is None:
        return f"no actor {actor!r}"
    if get_topic(connection, topic) is None:
        return f"no topic {topic!r}"
    return None


@router.get(
    "/{actor}/{topic}/history",
    summary="Every change of one stance, oldest first",
    response_model=StanceHistory,
    responses={**READ_PROBLEMS, **MIN_POSITION_PROBLEMS, **problem_responses(404)},
)
def get_stance_history(
    runtime: RuntimeDep, _reader: ReaderDep, _seen: MinPositionDep, actor: Slug, topic: Slug
) -> StanceHistory:
    """Each change of the current stance, with the event (statement, correction, retraction)
    that caused it. Unknown actors or topics are 404; a known pair never stated is empty."""
    with runtime.database.read() as session:
        connection = session.connection()
        if (missing := _not_in_catalog(connection, actor, topic)) is not None:
            raise NotFound(missing)
        changes = stance_history(connection, actor, topic)
    return StanceHistory(actor=actor, topic=topic, changes=[StanceChangeOut.of(c) for c in changes])
