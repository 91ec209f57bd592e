"""The outcome of one poll, shared by the fetcher (which reports it) and the scheduler (which acts).

It lives apart from ``fetch`` so that the pure scheduling code does not import the HTTP client.
"""

from enum import StrEnum


class FetchStatus(StrEnum):
    """What a poll found out, as far as scheduling and feed state care."""

    OK = "ok"  # a body to parse
    NOT_MODIFIED = "not_modified"  # 304: the validators still match, nothing to do
    GONE = "gone"  # 410: the publisher says the feed will never come back; stop polling
    RETRY_LATER = "retry_later"  # 429 or 503: the server asked us to slow down
    ERROR = "error"  # anything else that went wrong; counts towards backoff and pausing
