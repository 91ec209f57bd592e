"""When to poll a feed next: a pure function of what the last poll found and the feed's state.

The rules, in the order they apply:
- 410 Gone stops the feed for good.
- Success (a body or a 304) resets the failure count; the next poll is the feed's interval, but
  never sooner than what the publisher asked for (RSS ``<ttl>``, Cache-Control max-age, Expires),
  with the publisher's wish capped so a feed cannot opt out of being read for a month, and never
  sooner than the floor, so a one-minute interval cannot hammer anyone.
- A failure (error, 429, 503) counts; after ``pause_after`` failures in a row the feed is paused
  until someone resumes it. Otherwise it waits an exponentially growing delay (interval x 2^n,
  capped) with jitter, so feeds on one broken host do not retry in lockstep. Retry-After is
  honoured: the delay is never shorter than what the server asked for (up to a sane maximum).

Randomness is passed in (``jitter_draw``) so the function stays pure and testable.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.feeds.status import FetchStatus


@dataclass(frozen=True)
class SchedulePolicy:
    floor: timedelta = timedelta(minutes=5)
    ttl_cap: timedelta = timedelta(hours=24)
    max_backoff: timedelta = timedelta(hours=24)
    max_retry_after: timedelta = timedelta(days=7)
    pause_after: int = 10
    jitter: float = 0.2  # the backoff varies by up to +/- this fraction


DEFAULT_POLICY = SchedulePolicy()


@dataclass(frozen=True)
class PollPlan:
    """What the poller stores after a poll: when to come back, or why not to."""

    next_poll_at: datetime | None
    consecutive_failures: int
    paused: bool = False
    stopped: bool = False
    reason: str = ""


def plan_next_poll(
    *,
    now: datetime,
    status: FetchStatus,
    interval: timedelta,
    consecutive_failures: int,
    feed_ttl: timedelta | None = None,
    http_ttl: timedelta | None = None,
    retry_after: timedelta | None = None,
    policy: SchedulePolicy = DEFAULT_POLICY,
    jitter_draw: float = 0.5,
) -> PollPlan:
    """The plan after a poll that ended in ``status``; ``jitter_draw`` is uniform in [0, 1)."""
    base = max(interval, policy.floor)
    if status is FetchStatus.GONE:
        return PollPlan(None, consecutive_failures, stopped=True, reason="410 Gone: feed stopped")
    if status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED):
        hints = [ttl for ttl in (feed_ttl, http_ttl) if ttl is not None]
        delay = max(base, min(max(hints), policy.ttl_cap)) if hints else base
        reason = "publisher's TTL" if delay > base else "interval"
        return PollPlan(now + delay, 0, reason=reason)

    failures = consecutive_failures + 1
    if failures >= policy.pause_after:
        return PollPlan(
            None, failures, paused=True, reason=f"paused after {failures} failures in a row"
        )
    delay = backoff_delay(base, failures, policy=policy, jitter_draw=jitter_draw)
    reason = f"backoff after {failures} failure(s)"
    if status is FetchStatus.RETRY_LATER and retry_after is not None:
        asked = min(retry_after, policy.max_retry_after)
        if asked > delay:
            delay, reason = asked, "Retry-After"
    return PollPlan(now + delay, failures, reason=reason)


def backoff_delay(
    base: timedelta, failures: int, *, policy: SchedulePolicy, jitter_draw: float
) -> timedelta:
    """base x 2^failures, capped, jittered, and never shorter than the normal interval."""
    exponential = min(base * (2 ** min(failures, 30)), max(policy.max_backoff, base))
    factor = 1.0 + policy.jitter * (2.0 * min(max(jitter_draw, 0.0), 1.0) - 1.0)
    return max(base, exponential * factor)
