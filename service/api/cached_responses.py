"""HTTP for cached answers: the bytes as they are, an ``ETag``, and 304 on a matching tag.

The tag names the read models' version and the query, so a client (or a proxy) that sends it
back in ``If-None-Match`` hears "304 Not Modified" until a write moves what it asked about.
``Cache-Control: no-cache`` lets caches store the answer but makes them ask again every time:
the data is public (``private`` where reads need a key) and changes whenever a statement is
recorded, and a writer must see its own write on its next read, so no age is ever safe to
assume; revalidation is what makes that cheap.
"""

from typing import Annotated, Any, Final

from fastapi import Header
from starlette.responses import Response
from starlette.types import Send

from service.readcache import CachedAnswer

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=2048,
        description="The `ETag` of an earlier answer: 304 while it is still current.",
    ),
]
"""``if_none_match: IfNoneMatch = None`` in a cached route's signature."""

NOT_MODIFIED: Final[dict[int | str, dict[str, Any]]] = {
    304: {"description": "Not modified: the `If-None-Match` tag is still current."}
}
"""``responses=`` entry of a cached route."""

_PUBLIC: Final = "public, no-cache"
_PRIVATE: Final = "private, no-cache"


def tag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of ``etag`` with an ``If-None-Match`` list (or ``*``)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(
        candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(",")
    )


def _headers(answer: CachedAnswer, *, public: bool) -> dict[str, str]:
    headers = {"Cache-Control": _PUBLIC if public else _PRIVATE}
    if answer.etag is not None:
        headers["ETag"] = answer.etag
    return headers


def cached_response(answer: CachedAnswer, *, if_none_match: str | None, public: bool) -> Response:
    """The answer as a response, or a 304 when the client already holds it."""
    headers = _headers(answer, public=public)
    if answer.etag is not None and tag_matches(if_none_match, answer.etag):
        return Response(status_code=304, headers=headers)
    return Response(
        answer.body, status_code=answer.status, media_type=answer.media_type, headers=headers
    )


async def send_cached(
    answer: CachedAnswer, send: Send, *, if_none_match: str | None, public: bool
) -> None:
    """What ``cached_response`` would send, straight to the ASGI ``send`` (no Response object)."""
    headers = _headers(answer, public=public)
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    if answer.etag is not None and tag_matches(if_none_match, answer.etag):
        await send({"type": "http.response.start", "status": 304, "headers": raw})
        await send({"type": "http.response.body", "body": b""})
        return
    raw.append((b"content-length", str(len(answer.body)).encode()))
    raw.append((b"content-type", answer.media_type.encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": raw})
    await send({"type": "http.response.body", "body": answer.body})
