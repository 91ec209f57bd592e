"""Scheduling and the server hints it reads: pure functions, exact expectations."""

from datetime import UTC, datetime, timedelta

import pytest

from service.feeds.cache_hints import parse_cache_ttl, parse_http_date, parse_retry_after
from service.feeds.schedule import SchedulePolicy, plan_next_poll
from service.feeds.status import FetchStatus

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
POLICY = SchedulePolicy(floor=timedelta(minutes=5), ttl_cap=timedelta(hours=6), pause_after=5)


def plan(status: FetchStatus, failures: int = 0, **hints):
    return plan_next_poll(
        now=NOW, status=status, interval=HOUR, consecutive_failures=failures, policy=POLICY,
        **hints,
    )  # fmt: skip


def test_success_polls_after_the_interval_and_resets_failures():
    result = plan(FetchStatus.OK, failures=3)
    assert (result.next_poll_at, result.consecutive_failures) == (NOW + HOUR, 0)


def test_publisher_ttl_delays_within_the_cap():
    assert plan(FetchStatus.NOT_MODIFIED, feed_ttl=2 * HOUR).next_poll_at == NOW + 2 * HOUR
    assert plan(FetchStatus.OK, http_ttl=3 * HOUR).next_poll_at == NOW + 3 * HOUR
    assert plan(FetchStatus.OK, http_ttl=timedelta(days=30)).next_poll_at == NOW + 6 * HOUR
    assert plan(FetchStatus.OK, feed_ttl=timedelta(minutes=1)).next_poll_at == NOW + HOUR


def test_floor_applies_to_tiny_intervals():
    result = plan_next_poll(
        now=NOW, status=FetchStatus.OK, interval=timedelta(seconds=10), consecutive_failures=0,
        policy=POLICY,
    )  # fmt: skip
    assert result.next_poll_at == NOW + timedelta(minutes=5)


def test_errors_back_off_exponentially_with_bounded_jitter():
    delays = [plan(FetchStatus.ERROR, failures=n).next_poll_at - NOW for n in range(3)]
    assert delays == [2 * HOUR, 4 * HOUR, 8 * HOUR]
    low = plan(FetchStatus.ERROR, jitter_draw=0.0).next_poll_at - NOW
    high = plan(FetchStatus.ERROR, jitter_draw=0.999).next_poll_at - NOW
    assert timedelta(hours=1.6) <= low < 2 * HOUR < high <= timedelta(hours=2.4)


def test_backoff_is_capped():
    patient = SchedulePolicy(pause_after=50)
    result = plan_next_poll(
        now=NOW, status=FetchStatus.ERROR, interval=HOUR, consecutive_failures=10, policy=patient
    )
    assert result.next_poll_at == NOW + timedelta(hours=24)


def test_paused_after_n_consecutive_failures():
    result = plan(FetchStatus.ERROR, failures=4)
    assert result.paused and result.next_poll_at is None
    assert result.consecutive_failures == 5


def test_retry_after_is_honoured_and_bounded():
    asked = plan(FetchStatus.RETRY_LATER, retry_after=timedelta(hours=10))
    assert asked.next_poll_at == NOW + timedelta(hours=10)
    assert asked.reason == "Retry-After"
    short = plan(FetchStatus.RETRY_LATER, retry_after=timedelta(seconds=30))
    assert short.next_poll_at == NOW + 2 * HOUR  # never sooner than the backoff
    absurd = plan(FetchStatus.RETRY_LATER, retry_after=timedelta(days=300))
    assert absurd.next_poll_at == NOW + timedelta(days=7)
    assert absurd.consecutive_failures == 1


def test_gone_stops_the_feed():
    result = plan(FetchStatus.GONE)
    assert result.stopped and result.next_poll_at is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", timedelta(0)),
        (" 3600 ", HOUR),
        ("Fri, 01 Mar 2024 12:30:00 GMT", timedelta(minutes=30)),
        ("Friday, 01-Mar-24 12:30:00 GMT", timedelta(minutes=30)),
        ("Fri Mar  1 12:30:00 2024", timedelta(minutes=30)),
        ("Thu, 29 Feb 2024 12:00:00 GMT", timedelta(0)),  # in the past: now
        ("-5", None),
        ("soon", None),
        ("", None),
        ("99999999999999999999", timedelta(days=365)),
    ],
)
def test_retry_after_forms(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


def test_cache_ttl_from_max_age_then_expires():
    assert parse_cache_ttl({"cache-control": "public, max-age=900"}, now=NOW) == timedelta(
        minutes=15
    )
    assert parse_cache_ttl({"cache-control": "no-cache, max-age=900"}, now=NOW) is None
    expires = {"expires": "Fri, 01 Mar 2024 14:00:00 GMT", "date": "Fri, 01 Mar 2024 13:00:00 GMT"}
    assert parse_cache_ttl(expires, now=NOW) == HOUR  # measured against the server's own Date
    assert parse_cache_ttl({"expires": "0"}, now=NOW) is None
    assert parse_cache_ttl({"expires": "Thu, 01 Jan 1970 00:00:00 GMT"}, now=NOW) is None
    assert parse_http_date("not a date") is None
