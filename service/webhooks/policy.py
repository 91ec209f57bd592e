"""What happens after an attempt: delivered, retried later, given up, or the endpoint disabled.

Pure functions over ``AttemptResult`` and a ``RetryPolicy``, with the clock and the randomness
passed in, so the whole schedule is testable without waiting. The schedule is the one Standard
Webhooks and Svix use; the jitter spreads retries so that an endpoint coming back up is not hit by
every queued message in the same second.
"""

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

from service.webhooks.attempt import AttemptResult, FailureKind

# Wait before each attempt: the first at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_DELAYS: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
# 408 Request Timeout, 409 Conflict, 425 Too Early and 429 Too Many Requests say "try again".
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})
_DELTA_SECONDS = re.compile(r"[0-9]+")


class Outcome(StrEnum):
    """How one attempt is judged, before the schedule is consulted."""

    SUCCESS = "success"
    RETRY = "retry"
    PERMANENT_FAILURE = "permanent_failure"  # this message will not be accepted as it is
    GONE = "gone"  # 410: the endpoint asks never to be called again


class MessageState(StrEnum):
    """Where the message stands after the decision."""

    DELIVERED = "delivered"
    PENDING = "pending"  # another attempt is scheduled
    FAILED = "failed"


@dataclass(frozen=True)
class RetryPolicy:
    """The retry schedule and the endpoint-disabling rule; every number is configurable."""

    delays: tuple[float, ...] = DEFAULT_DELAYS
    jitter: float = 0.2  # each delay is scaled by a factor in [1 - jitter, 1 + jitter)
    throttle_floor_seconds: float = 60.0  # least wait after a 429 or a timeout
    max_retry_after_seconds: float = 86_400.0  # a receiver cannot park a message for longer
    disable_after: timedelta = timedelta(days=5)

    def __post_init__(self) -> None:
        if not self.delays or any(delay < 0 for delay in self.delays):
            raise ValueError("delays must be a non-empty sequence of non-negative seconds")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.disable_after <= timedelta(0):
            raise ValueError("disable_after must be positive")

    @property
    def max_attempts(self) -> int:
        return len(self.delays)


@dataclass(frozen=True)
class Decision:
    """What the worker stores: message state, next attempt, and the endpoint's health."""

    state: MessageState
    next_attempt_at: datetime | None
    failing_since: datetime | None  # start of the endpoint's current run of failures
    disable_endpoint: bool
    reason: str


def classify(result: AttemptResult) -> Outcome:
    """2xx succeeds; 410 is gone; 408/409/425/429, 3xx, 5xx and errors retry; other 4xx fail.

    Redirects are retried rather than followed: a webhook URL that redirects is misconfigured, and
    following it would send signed payloads somewhere the subscriber did not register.
    """
    status = result.status_code
    if status is None:
        if result.failure is FailureKind.INVALID_URL:
            return Outcome.PERMANENT_FAILURE
        return Outcome.RETRY  # network errors, timeouts and guard refusals can all clear up
    if 200 <= status < 300:
        return Outcome.SUCCESS
    if status == 410:
        return Outcome.GONE
    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
        return Outcome.PERMANENT_FAILURE
    return Outcome.RETRY


def retry_delay(
    policy: RetryPolicy,
    *,
    attempts_made: int,
    result: AttemptResult,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before the next attempt, or ``None`` once the schedule is used up.

    The jittered schedule delay, raised to the receiver's Retry-After (capped) and, after a 429 or
    a timeout, to at least ``throttle_floor_seconds``: a receiver that is overloaded gets room.
    """
    if attempts_made < 1:
        raise ValueError("attempts_made counts the attempt just made, so it is at least 1")
    if attempts_made >= policy.max_attempts:
        return None
    base = policy.delays[attempts_made]
    delay = base * (1 + policy.jitter * (2 * rand() - 1))
    floor = 0.0
    if result.retry_after is not None:
        floor = min(result.retry_after, policy.max_retry_after_seconds)
    if result.status_code == 429 or result.failure is FailureKind.TIMEOUT:
        floor = max(floor, policy.throttle_floor_seconds)
    return max(delay, floor)


def decide(
    result: AttemptResult,
    *,
    attempts_made: int,
    failing_since: datetime | None,
    now: datetime,
    policy: RetryPolicy | None = None,
    rand: Callable[[], float] = random.random,
) -> Decision:
    """The full verdict on an attempt, ``attempts_made`` including this one.

    Any success clears the endpoint's failure run; any failure starts one (or continues it), and a
    run as long as ``policy.disable_after`` disables the endpoint. A 410 disables it at once.
    """
    policy = policy or RetryPolicy()
    outcome = classify(result)
    if outcome is Outcome.SUCCESS:
        return Decision(MessageState.DELIVERED, None, None, False, _describe(result))
    since = failing_since or now
    if outcome is Outcome.GONE:
        return Decision(
            MessageState.FAILED, None, since, True, "410 Gone: the endpoint asked to stop"
        )
    if now - since >= policy.disable_after:
        reason = f"{_describe(result)}; failing continuously since {since.isoformat()}"
        return Decision(MessageState.FAILED, None, since, True, reason)
    if outcome is Outcome.PERMANENT_FAILURE:
        reason = f"{_describe(result)}: not retried"
        return Decision(MessageState.FAILED, None, since, False, reason)
    delay = retry_delay(policy, attempts_made=attempts_made, result=result, rand=rand)
    if delay is None:
        reason = f"{_describe(result)}; gave up after {attempts_made} attempts"
        return Decision(MessageState.FAILED, None, since, False, reason)
    next_at = now + timedelta(seconds=delay)
    return Decision(MessageState.PENDING, next_at, since, False, _describe(result))


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Retry-After as seconds from ``now``: delta-seconds or an HTTP-date; garbage gives ``None``.

    A date in the past means "now" (0). ``now`` must be timezone-aware.
    """
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # "-0000": HTTP-dates are always UTC anyway
    return max(0.0, (moment - now).total_seconds())


def _describe(result: AttemptResult) -> str:
    if result.status_code is not None:
        return f"HTTP {result.status_code}"
    kind = result.failure.value if result.failure else "error"
    return f"{kind}: {result.error}" if result.error else kind
