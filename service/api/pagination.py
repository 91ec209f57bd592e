"""Paging: a bounded ``limit`` and an opaque ``cursor``.

A cursor is URL-safe base64 (unpadded) of one version byte and a compact JSON object
``{"k": kind, "v": values}``: the kind is the listing it belongs to, so a cursor from one listing
is refused by another, and the version byte lets the encoding change without misreading old
cursors. Cursors are opaque, not secret: they only say where a listing stopped, so tampering
gains a client nothing it could not ask for directly, and they are not signed.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Final, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from service.api.problems import BadRequest, FieldError

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
MAX_EVENTS_LIMIT: Final = 1000
CURSOR_VERSION: Final = 1
_MAX_CURSOR_LENGTH: Final = 1024

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}.")]
"""``limit: Limit = DEFAULT_LIMIT`` in a route's signature."""

Cursor = Annotated[
    str | None,
    Query(
        max_length=_MAX_CURSOR_LENGTH,
        description="Where to continue: the `next_cursor` of the previous page.",
    ),
]
"""``cursor: Cursor = None`` in a route's signature."""

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null when there is none."
    )


class InvalidCursor(BadRequest):
    title = "Invalid cursor"
    slug = "invalid-cursor"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The cursor is not one this listing gave out: {reason}",
            errors=[FieldError(location="query", field="cursor", message=reason)],
        )


def encode_cursor(kind: str, values: dict[str, Any]) -> str:
    """An opaque cursor for listing ``kind`` holding ``values`` (JSON-serialisable)."""
    payload = json.dumps({"k": kind, "v": values}, separators=(",", ":"), sort_keys=True)
    raw = bytes([CURSOR_VERSION]) + payload.encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, *, kind: str) -> dict[str, Any]:
    """The values ``encode_cursor(kind, values)`` put in; ``InvalidCursor`` (400) otherwise."""
    if len(cursor) > _MAX_CURSOR_LENGTH:
        raise InvalidCursor("too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor("not URL-safe base64") from None
    if not raw or raw[0] != CURSOR_VERSION:
        raise InvalidCursor("unknown cursor version")
    try:
        payload = json.loads(raw[1:].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidCursor("damaged") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("v"), dict):
        raise InvalidCursor("damaged")
    if payload.get("k") != kind:
        raise InvalidCursor("it belongs to another listing")
    return payload["v"]  # type: ignore[no-any-return]


def keyset_page(
    found: Sequence[T], *, limit: int, kind: str, after: Callable[[T], Any]
) -> tuple[list[T], str | None]:
    """Split ``found`` (fetched with ``limit + 1``) into the page and the cursor to the next one;
    ``after(last item)`` is what the listing resumes after."""
    page = list(found[:limit])
    more = len(found) > limit
    return page, encode_cursor(kind, {"after": after(page[-1])}) if more and page else None
