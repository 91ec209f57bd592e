"""``GET /metrics``: Prometheus text with requests by route template, appends and projector lag."""

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.api.metrics import record_events_appended, set_projector_lag_source


def samples(client, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _value(found, **labels) -> float:
    return found.get(tuple(sorted(labels.items())), 0.0)


@pytest.fixture(autouse=True)
def no_lag_source() -> Iterator[None]:
    yield
    set_projector_lag_source(None)


def test_requests_are_counted_by_route_template_and_status(client):
    key = dict(method="POST", route="/_probe/statements/{statement_id}/approval", status="404")
    before = _value(samples(client, "stance_http_requests_total"), **key)
    client.post("/_probe/statements/abc/approval")
    client.post("/_probe/statements/def/approval")
    client.get("/definitely/not/here")
    after = samples(client, "stance_http_requests_total")
    assert _value(after, **key) == before + 2
    assert _value(after, method="GET", route="unmatched", status="404") >= 1
    assert not any("abc" in value for labels in after for _, value in labels)


def test_latency_histogram_by_route(client):
    client.get("/v1/events")
    counts = samples(client, "stance_http_request_duration_seconds_count")
    assert _value(counts, method="GET", route="/v1/events") >= 1


def test_events_appended_counter(client):
    before = _value(samples(client, "stance_events_appended_total"))
    record_events_appended(3)
    record_events_appended(0)
    assert _value(samples(client, "stance_events_appended_total")) == before + 3


def test_projector_lag_from_the_wired_source(client):
    # The app wires the projector's own lag: nothing appended, nothing behind.
    assert _value(samples(client, "stance_projector_lag_events"), projection="all") == 0
    set_projector_lag_source(lambda: 7)
    assert _value(samples(client, "stance_projector_lag_events"), projection="all") == 7
    set_projector_lag_source(lambda: {"stances": 2, "statements": 0})
    lag = samples(client, "stance_projector_lag_events")
    assert _value(lag, projection="stances") == 2 and (("projection", "statements"),) in lag


def test_a_failing_lag_source_does_not_fail_the_scrape(client):
    def broken() -> int:
        raise RuntimeError("database down")

    set_projector_lag_source(broken)
    assert samples(client, "stance_projector_lag_events") == {}
