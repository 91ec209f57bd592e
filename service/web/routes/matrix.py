"""``GET /``: the stance matrix, now or replayed, with its date and known-at controls."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from service.web.access import PageReader, runtime_of
from service.web.controls import date_slider, known_at_control
from service.web.matrix import TIP_QUOTE_CHARS, build_matrix
from service.web.params import ReplayTimes, Times
from service.web.reads import MatrixReads, read_matrix
from service.web.templating import query_string, render

router = APIRouter(include_in_schema=False)


def matrix_context(reads: MatrixReads, times: ReplayTimes) -> dict[str, Any]:
    """What ``matrix.html`` is rendered with."""
    actors = {actor.actor_id: actor for actor in reads.actors}
    topics = {topic.topic_id: topic for topic in reads.topics}
    return {
        "times": times,
        "matrix": build_matrix(
            reads.actors, reads.topics, reads.stances, link_query=query_string(times.query())
        ),
        "slider": date_slider(reads.span, times.as_of),
        "known": known_at_control(reads.revisions, times.known_at, actors=actors, topics=topics),
        "tip_chars": TIP_QUOTE_CHARS,
    }


@router.get("/", response_class=HTMLResponse)
def matrix_page(request: Request, _reader: PageReader, times: Times) -> HTMLResponse:
    with runtime_of(request).database.read() as session:
        reads = read_matrix(session.connection(), as_of=times.as_of, known_at=times.known_at)
    return render(request, "matrix.html", **matrix_context(reads, times))
