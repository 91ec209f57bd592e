"""``as_of`` and ``known_at`` query parameters: a date (the whole day) or an ISO 8601 datetime.

A bare date means the end of that day in UTC, so "as of 2022-05-16" includes what was said that
day. A datetime without an offset is read as UTC, the service's only time zone.
"""

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import Query

from service.api.problems import FieldError, ProblemError

AsOf = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Valid time: the stances as they stood then. A date (YYYY-MM-DD, the whole "
        "day) or an ISO 8601 datetime; default now.",
        examples=["2022-05-16"],
    ),
]
KnownAt = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Transaction time: the record as it was known then, before later "
        "corrections. A date or an ISO 8601 datetime; default now.",
        examples=["2022-06-01T00:00:00Z"],
    ),
]


class InvalidTime(ProblemError):
    status = 422
    title = "Invalid time"
    slug = "invalid-time"


def parse_time(value: str | None, *, field: str) -> datetime | None:
    """The UTC instant ``value`` names, or None when absent; 422 naming ``field`` otherwise."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except ValueError:
        raise _invalid(
            value, field, "expected a date (YYYY-MM-DD) or an ISO 8601 datetime"
        ) from None
    except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise _invalid(value, field, "the instant is outside years 1 to 9999 in UTC") from None


def _invalid(value: str, field: str, message: str) -> InvalidTime:
    return InvalidTime(
        f"{field}={value!r}: {message}",
        errors=[FieldError(location="query", field=field, message=message)],
    )
