"""The retry policy: classification, the jittered schedule, Retry-After, disabling endpoints."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.webhooks.attempt import AttemptResult, FailureKind
from service.webhooks.policy import (
    DEFAULT_DELAYS,
    MessageState,
    Outcome,
    RetryPolicy,
    classify,
    decide,
    parse_retry_after,
    retry_delay,
)

NOW = datetime(2024, 6, 2, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy()


def middle() -> float:
    return 0.5  # jitter factor exactly 1


def status(code: int, retry_after: float | None = None) -> AttemptResult:
    return AttemptResult(status_code=code, error=None, duration_ms=12, retry_after=retry_after)


def failure(kind: FailureKind) -> AttemptResult:
    return AttemptResult(status_code=None, error="boom", duration_ms=12, failure=kind)


@pytest.mark.parametrize("code", [200, 201, 202, 204, 299])
def test_2xx_is_success(code: int) -> None:
    assert classify(status(code)) is Outcome.SUCCESS
    assert status(code).succeeded


@pytest.mark.parametrize(
    "code", [300, 301, 302, 303, 307, 308, 408, 409, 425, 429, 500, 502, 503, 504, 599, 100]
)
def test_redirects_throttling_and_server_errors_are_retried(code: int) -> None:
    assert classify(status(code)) is Outcome.RETRY
    assert not status(code).succeeded


@pytest.mark.parametrize("code", [400, 401, 403, 404, 405, 413, 415, 422, 451, 499])
def test_other_4xx_fail_the_message(code: int) -> None:
    assert classify(status(code)) is Outcome.PERMANENT_FAILURE


def test_410_means_gone() -> None:
    assert classify(status(410)) is Outcome.GONE


@pytest.mark.parametrize(
    "kind", [FailureKind.TIMEOUT, FailureKind.CONNECT, FailureKind.NETWORK, FailureKind.BLOCKED]
)
def test_errors_without_a_response_are_retried(kind: FailureKind) -> None:
    assert classify(failure(kind)) is Outcome.RETRY


def test_an_invalid_url_is_not_retried() -> None:
    assert classify(failure(FailureKind.INVALID_URL)) is Outcome.PERMANENT_FAILURE


def test_the_default_schedule() -> None:
    assert DEFAULT_DELAYS == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    waits = [
        retry_delay(POLICY, attempts_made=n, result=status(500), rand=middle) for n in range(1, 9)
    ]
    assert waits == [5, 300, 1800, 7200, 18000, 36000, 36000, None]


@pytest.mark.parametrize("attempts_made", range(1, 8))
def test_jitter_stays_within_twenty_percent(attempts_made: int) -> None:
    base = DEFAULT_DELAYS[attempts_made]
    low = retry_delay(POLICY, attempts_made=attempts_made, result=status(503), rand=lambda: 0.0)
    high = retry_delay(
        POLICY, attempts_made=attempts_made, result=status(503), rand=lambda: 0.999999999
    )
    assert low == pytest.approx(base * 0.8)
    assert high == pytest.approx(base * 1.2)


@given(attempts_made=st.integers(1, 7), draw=st.floats(0, 1, exclude_max=True))
def test_any_jittered_delay_is_within_bounds(attempts_made: int, draw: float) -> None:
    base = DEFAULT_DELAYS[attempts_made]
    delay = retry_delay(POLICY, attempts_made=attempts_made, result=status(502), rand=lambda: draw)
    assert delay is not None
    assert base * 0.8 - 1e-9 <= delay <= base * 1.2 + 1e-9


def test_the_real_random_source_spreads_delays() -> None:
    delays = {retry_delay(POLICY, attempts_made=2, result=status(500)) for _ in range(50)}
    assert len(delays) > 1
    assert all(240 <= delay <= 360 for delay in delays if delay is not None)


def test_the_schedule_is_configurable() -> None:
    policy = RetryPolicy(delays=(0, 1, 2), jitter=0)
    assert retry_delay(policy, attempts_made=1, result=status(500)) == 1
    assert retry_delay(policy, attempts_made=2, result=status(500)) == 2
    assert retry_delay(policy, attempts_made=3, result=status(500)) is None
    assert policy.max_attempts == 3


@pytest.mark.parametrize(
    "arguments",
    [{"delays": ()}, {"delays": (0, -1)}, {"jitter": 1.0}, {"disable_after": timedelta(0)}],
)
def test_nonsense_policies_are_refused(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**arguments)  # type: ignore[arg-type]


def test_attempts_made_starts_at_one() -> None:
    with pytest.raises(ValueError):
        retry_delay(POLICY, attempts_made=0, result=status(500))


def test_429_and_timeouts_wait_at_least_a_minute() -> None:
    assert retry_delay(POLICY, attempts_made=1, result=status(429), rand=middle) == 60
    assert retry_delay(POLICY, attempts_made=1, result=failure(FailureKind.TIMEOUT)) == 60
    assert retry_delay(POLICY, attempts_made=1, result=status(503), rand=middle) == 5
    assert retry_delay(POLICY, attempts_made=3, result=status(429), rand=middle) == 1800


def test_retry_after_is_honoured_and_capped() -> None:
    assert retry_delay(POLICY, attempts_made=1, result=status(503, 120), rand=middle) == 120
    assert retry_delay(POLICY, attempts_made=1, result=status(429, 10), rand=middle) == 60
    assert retry_delay(POLICY, attempts_made=2, result=status(429, 10), rand=middle) == 300
    huge = status(429, 10**9)
    assert retry_delay(POLICY, attempts_made=1, result=huge, rand=middle) == 86_400


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sun, 02 Jun 2024 12:01:30 GMT", 90.0),  # IMF-fixdate
        ("Sunday, 02-Jun-24 12:01:30 GMT", 90.0),  # obsolete RFC 850
        ("Sun Jun  2 12:01:30 2024", 90.0),  # asctime
        ("Sun, 02 Jun 2024 11:00:00 GMT", 0.0),  # in the past: now
        ("Sun, 02 Jun 2024 14:01:30 +0200", 90.0),
    ],
)
def test_retry_after_in_seconds_and_http_date_form(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    "header", [None, "", "soon", "-5", "1.5", "12 s", "Mon, 99 Foo 2024 12:00:00 GMT", "٣"]
)
def test_garbage_retry_after_is_ignored(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


def test_retry_after_round_trips_through_a_formatted_date() -> None:
    header = format_datetime(NOW + timedelta(seconds=300), usegmt=True)
    assert parse_retry_after(header, now=NOW) == 300


def test_decide_success_clears_the_failure_run() -> None:
    decision = decide(status(204), attempts_made=3, failing_since=NOW - timedelta(days=4), now=NOW)
    assert decision.state is MessageState.DELIVERED
    assert decision.failing_since is None
    assert not decision.disable_endpoint
    assert decision.next_attempt_at is None


def test_decide_schedules_a_retry_and_starts_the_failure_run() -> None:
    decision = decide(status(500), attempts_made=1, failing_since=None, now=NOW, rand=middle)
    assert decision.state is MessageState.PENDING
    assert decision.next_attempt_at == NOW + timedelta(seconds=5)
    assert decision.failing_since == NOW
    assert decision.reason == "HTTP 500"


def test_decide_keeps_an_existing_failure_run() -> None:
    since = NOW - timedelta(hours=3)
    decision = decide(
        failure(FailureKind.CONNECT), attempts_made=2, failing_since=since, now=NOW, rand=middle
    )
    assert decision.failing_since == since
    assert decision.next_attempt_at == NOW + timedelta(seconds=300)
    assert decision.reason == "connect: boom"


def test_decide_gives_up_after_the_last_attempt() -> None:
    decision = decide(status(503), attempts_made=8, failing_since=NOW, now=NOW)
    assert decision.state is MessageState.FAILED
    assert not decision.disable_endpoint
    assert "gave up after 8 attempts" in decision.reason


def test_decide_fails_a_message_the_endpoint_refuses() -> None:
    decision = decide(status(400), attempts_made=1, failing_since=None, now=NOW)
    assert decision.state is MessageState.FAILED
    assert decision.failing_since == NOW
    assert not decision.disable_endpoint


def test_410_disables_the_endpoint_at_once() -> None:
    decision = decide(status(410), attempts_made=1, failing_since=None, now=NOW)
    assert decision.state is MessageState.FAILED
    assert decision.disable_endpoint


def test_five_days_of_failure_disables_the_endpoint() -> None:
    almost = decide(
        status(500),
        attempts_made=2,
        failing_since=NOW - timedelta(days=5) + timedelta(seconds=1),
        now=NOW,
    )
    assert almost.state is MessageState.PENDING and not almost.disable_endpoint
    disabled = decide(status(500), attempts_made=2, failing_since=NOW - timedelta(days=5), now=NOW)
    assert disabled.disable_endpoint and disabled.state is MessageState.FAILED
    assert "failing continuously since" in disabled.reason


def test_the_disable_period_is_configurable() -> None:
    policy = RetryPolicy(disable_after=timedelta(hours=1))
    decision = decide(
        status(500),
        attempts_made=1,
        failing_since=NOW - timedelta(hours=1),
        now=NOW,
        policy=policy,
    )
    assert decision.disable_endpoint
