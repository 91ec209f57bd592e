"""The two times a page can be replayed at, read from the query string as the API reads them.

``as_of`` (valid time) and ``known_at`` (transaction time) mean exactly what they mean in
``GET /v1/stances``: a date is the whole day, a datetime without an offset is UTC. The raw text is
kept as well, so forms show what the user typed and links carry it on.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

from fastapi import Depends, Request

from service.api.problems import ProblemError
from service.api.times import parse_time
from service.web.errors import PageError, not_found

MAX_TIME_CHARS: Final = 40
_SLUG: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


@dataclass(frozen=True)
class ReplayTimes:
    as_of_text: str
    known_at_text: str
    as_of: datetime | None
    known_at: datetime | None

    @property
    def replaying(self) -> bool:
        return self.as_of is not None or self.known_at is not None

    def query(self) -> dict[str, str | None]:
        """Keyword arguments for ``page_url``: the times as they were given."""
        return {"as_of": self.as_of_text or None, "known_at": self.known_at_text or None}


def _parsed(text: str, field: str) -> datetime | None:
    if not text:
        return None
    if len(text) > MAX_TIME_CHARS:
        raise PageError(400, "Invalid time", f"{field} is longer than {MAX_TIME_CHARS} characters.")
    try:
        return parse_time(text, field=field)
    except ProblemError:
        raise PageError(
            400,
            "Invalid time",
            f"{field}={text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 datetime "
            "(e.g. 2022-05-16T12:00:00Z).",
        ) from None


def replay_times(request: Request) -> ReplayTimes:
    """``as_of`` and ``known_at`` from the query; empty means now; anything unreadable is 400."""
    as_of_text = request.query_params.get("as_of", "").strip()
    known_at_text = request.query_params.get("known_at", "").strip()
    return ReplayTimes(
        as_of_text=as_of_text,
        known_at_text=known_at_text,
        as_of=_parsed(as_of_text, "as_of"),
        known_at=_parsed(known_at_text, "known_at"),
    )


Times = Annotated[ReplayTimes, Depends(replay_times)]


def checked_slug(value: str, what: str) -> str:
    """An actor or topic id from the path; anything that cannot be one is simply not found."""
    if not _SLUG.fullmatch(value):
        raise not_found(f"There is no {what} {value!r}.")
    return value
