"""Input checks shared by the aggregates: each returns the normalised value or raises.

Normalising here (strip text, UTC datetimes, de-duplicated phrases) means events only ever hold
clean values, so projections and the stance rule never have to second-guess them.
"""

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from service.domain.errors import (
    DomainError,
    InvalidConfidence,
    InvalidField,
    InvalidQuote,
    InvalidSourceUrl,
    StatedAtInFuture,
)
from service.domain.values import Source

MAX_QUOTE_LENGTH = 2000
# Clocks of API clients, feed publishers and this server disagree by a few seconds; a minute
# absorbs that without letting anyone record what has not been said yet.
MAX_CLOCK_SKEW = timedelta(seconds=60)

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_WIKIDATA_ID = re.compile(r"Q[1-9][0-9]*")

E = TypeVar("E", bound=StrEnum)


def check_slug(value: str, *, field: str) -> str:
    """Slugs become stream names and URL path segments, so they stay short, lowercase, ASCII."""
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise InvalidField(
            f"{field} must be 1-63 characters of a-z, 0-9 and '-', not starting with '-'",
            field=field,
        )
    return value


def check_text(value: str, *, field: str, error: type[DomainError] = InvalidField) -> str:
    """Stripped, non-empty text; NUL is refused because PostgreSQL cannot store it in JSON."""
    if not isinstance(value, str) or not value.strip():
        raise error(f"{field} must not be empty", field=field)
    if "\x00" in value:
        raise error(f"{field} must not contain NUL characters", field=field)
    return value.strip()


def optional_text(value: str | None, *, field: str) -> str | None:
    """Stripped text, or ``None`` when absent or blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return check_text(value, field=field)


def check_country(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2, uppercase; ``None`` for actors that belong to no single country."""
    if value is None:
        return None
    if not isinstance(value, str) or not _COUNTRY.fullmatch(value):
        raise InvalidField(
            "country must be an ISO 3166-1 alpha-2 code such as 'BY'", field="country"
        )
    return value


def check_wikidata_id(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _WIKIDATA_ID.fullmatch(value):
        raise InvalidField("wikidata_id must look like 'Q7747'", field="wikidata_id")
    return value


def unique_phrases(values: Iterable[str], *, field: str) -> tuple[str, ...]:
    """Stripped, blank-free phrases, first spelling kept when two differ only in case."""
    if isinstance(values, str):
        raise InvalidField(f"{field} must be a list of strings, not one string", field=field)
    seen: set[str] = set()
    phrases: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidField(f"{field} must contain only strings", field=field)
        phrase = value.strip()
        if phrase and phrase.casefold() not in seen:
            check_text(phrase, field=field)
            seen.add(phrase.casefold())
            phrases.append(phrase)
    return tuple(phrases)


def parse_choice(enum: type[E], value: str | E, *, field: str) -> E:
    """An enum member from its value, with the allowed values in the error."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidField(
            f"{field} must be one of {allowed}, not {value!r}", field=field
        ) from None


def as_utc(value: datetime, *, field: str) -> datetime:
    """Aware datetimes in UTC; a naive one is refused because its instant is unknowable."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidField(f"{field} must be a datetime with a UTC offset", field=field)
    return value.astimezone(UTC)


def check_stated_at(value: datetime, *, now: datetime, field: str = "stated_at") -> datetime:
    stated_at = as_utc(value, field=field)
    if stated_at > as_utc(now, field="now") + MAX_CLOCK_SKEW:
        raise StatedAtInFuture(f"{field} {stated_at.isoformat()} is in the future", field=field)
    return stated_at


def check_quote(value: str, *, field: str = "quote") -> str:
    quote = check_text(value, field=field, error=InvalidQuote)
    if len(quote) > MAX_QUOTE_LENGTH:
        raise InvalidQuote(f"{field} is longer than {MAX_QUOTE_LENGTH} characters", field=field)
    return quote


def check_confidence(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidConfidence("confidence must be a number between 0 and 1")
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidConfidence(f"confidence must be between 0 and 1, not {value}")
    return float(value)


def check_source(source: Source, *, field: str = "source") -> Source:
    """A source a reader can follow: an http(s) URL with a host; title and publisher stripped."""
    if not isinstance(source, Source):
        raise InvalidField(f"{field} must be a Source", field=field)
    url = source.url.strip() if isinstance(source.url, str) else ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host or "\x00" in url:
        raise InvalidSourceUrl(
            f"{field}.url must be an http or https URL with a host", field=f"{field}.url"
        )
    published_at = source.published_at
    if published_at is not None:
        published_at = as_utc(published_at, field=f"{field}.published_at")
    return Source(
        url=url,
        title=_plain(source.title, field=f"{field}.title"),
        publisher=_plain(source.publisher, field=f"{field}.publisher"),
        published_at=published_at,
    )


def _plain(value: str, *, field: str) -> str:
    """Stripped text that may be empty: feeds do not always name a title or publisher."""
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidField(f"{field} must be text", field=field)
    return value.strip()
