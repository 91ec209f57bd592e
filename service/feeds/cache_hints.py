"""Reading the server's hints about when to come back: Cache-Control, Expires and Retry-After.

Servers send these in several forms and sometimes send nonsense; every parser here returns ``None``
for what it cannot read, so a bad header can never make a feed poll faster or crash the poller.
"""

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# A server may ask for any delay; past a year the number is a mistake or an attack on our clock
# arithmetic (timedelta overflows near 10**9 days), and the scheduler caps far below this anyway.
_LONGEST = timedelta(days=365)
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,12})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|$|=)", re.IGNORECASE)


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP-date (RFC 9110: IMF-fixdate, RFC 850 or asctime) as an aware UTC datetime."""
    if not value or not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """Retry-After as a delay: delta-seconds or an HTTP-date; ``None`` when absent or unreadable.

    A date in the past means "now" (zero delay); the scheduler's floor still applies.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return min(timedelta(seconds=int(text[:12])), _LONGEST)
    when = parse_http_date(text)
    if when is None:
        return None
    return min(max(when - now, timedelta(0)), _LONGEST)


def parse_cache_ttl(headers: Mapping[str, str], *, now: datetime) -> timedelta | None:
    """How long the response may be considered fresh: ``max-age``, else ``Expires`` minus ``Date``.

    ``no-cache``/``no-store`` give no TTL (we revalidate with a conditional GET anyway). Expires
    is measured against the server's own Date header when present, so a skewed server clock does
    not stretch or shrink the TTL.
    """
    cache_control = headers.get("cache-control", "")
    if _NO_CACHE.search(cache_control):
        return None
    if match := _MAX_AGE.search(cache_control):
        return min(timedelta(seconds=int(match.group(1))), _LONGEST)
    expires = parse_http_date(headers.get("expires"))
    if expires is None:
        return None
    reference = parse_http_date(headers.get("date")) or now
    ttl = expires - reference
    return min(ttl, _LONGEST) if ttl > timedelta(0) else None
