"""What one delivery attempt produced: the sender's output and the retry policy's input."""

from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    """Why an attempt got no HTTP response; the policy treats some of them differently."""

    TIMEOUT = "timeout"
    CONNECT = "connect"  # refused, unreachable, name not resolved
    BLOCKED = "blocked"  # the URL guard refused the destination; nothing was connected
    NETWORK = "network"  # the connection broke mid-request, or the reply was not HTTP
    INVALID_URL = "invalid_url"


@dataclass(frozen=True)
class AttemptResult:
    """One POST to a subscriber, as the delivery log records it.

    ``status_code`` is set when a response arrived, ``error`` and ``failure`` when none did.
    ``retry_after`` is the receiver's Retry-After in seconds from the attempt, already parsed.
    """

    status_code: int | None
    error: str | None
    duration_ms: int
    response_body_excerpt: str = ""
    retry_after: float | None = None
    failure: FailureKind | None = None

    @property
    def succeeded(self) -> bool:
        """Any 2xx acknowledges the message; nothing else does."""
        return self.status_code is not None and 200 <= self.status_code < 300
