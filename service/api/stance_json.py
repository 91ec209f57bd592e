"""Stance answers serialized straight to JSON bytes, as the response schemas would write them.

A matrix of thousands of stances built as pydantic models and validated on the way out costs
several times the query; the rows come from the service's own read models, so here they go to
orjson as plain dicts instead, once per read-model version (the response cache keeps the bytes).
The keys, their order and every value's format are those of ``StanceMatrix`` and ``StanceOut``
(``tests/api/test_stance_cache.py`` compares the bytes), so ``response_model`` still documents
the routes exactly. A value orjson cannot write (an integer beyond 64 bits in a source) falls
back to the schemas themselves.
"""

from datetime import datetime
from typing import Any

import orjson

from service.api.stance_schemas import StanceMatrix, StanceOut
from service.queries import StanceView

_OPTIONS = orjson.OPT_UTC_Z  # pydantic writes UTC as "Z"


def _stance(view: StanceView) -> dict[str, Any]:
    ref = view.statement
    return {
        "actor": view.actor_id,
        "topic": view.topic_id,
        "stance": view.stance,
        "score": view.score,
        "since": view.since,
        "previous_stance": view.previous_stance,
        "flip": view.flip,
        "statement": {
            "statement_id": ref.statement_id,
            "quote": ref.quote,
            "stated_at": ref.stated_at,
            "kind": ref.kind,
            "status": ref.status,
            "source": ref.source,
        },
    }


def stance_body(view: StanceView) -> bytes:
    """The body of ``GET /v1/stances/{actor}/{topic}``: a ``StanceOut``."""
    try:
        return orjson.dumps(_stance(view), option=_OPTIONS)
    except orjson.JSONEncodeError:
        return StanceOut.of(view).model_dump_json().encode()


def matrix_body(
    *,
    as_of: datetime | None,
    known_at: datetime | None,
    views: list[StanceView],
    next_cursor: str | None,
) -> bytes:
    """The body of ``GET /v1/stances``: a ``StanceMatrix``."""
    try:
        return orjson.dumps(
            {
                "as_of": as_of,
                "known_at": known_at,
                "stances": [_stance(view) for view in views],
                "next_cursor": next_cursor,
            },
            option=_OPTIONS,
        )
    except orjson.JSONEncodeError:
        matrix = StanceMatrix(
            as_of=as_of,
            known_at=known_at,
            stances=[StanceOut.of(view) for view in views],
            next_cursor=next_cursor,
        )
        return matrix.model_dump_json().encode()
