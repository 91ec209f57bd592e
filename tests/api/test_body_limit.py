"""Bodies over STANCE_MAX_BODY_BYTES are refused with a 413 problem, whatever the headers say."""

from collections.abc import Iterator

import httpx

from tests.api.conftest import assert_problem

LIMIT = 1024


def _chunks(total: int, size: int = 256) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b"x" * min(size, total - sent)
        sent += len(chunk)
        yield chunk


def test_a_body_within_the_limit_passes(make_client):
    client = make_client(max_body_bytes=LIMIT)
    assert client.post("/_probe/raw", content=b"x" * LIMIT).json() == {"received": LIMIT}


def test_declared_length_over_the_limit_is_refused_before_reading(make_client):
    client = make_client(max_body_bytes=LIMIT)
    response = client.post("/_probe/raw", content=b"x" * (LIMIT + 1))
    body = assert_problem(response, 413, "content-too-large")
    assert str(LIMIT) in body["detail"]


def test_chunked_body_without_length_is_counted_while_streaming(make_client):
    client = make_client(max_body_bytes=LIMIT)
    response = client.post("/_probe/raw", content=_chunks(LIMIT + 100))
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "content-too-large")


def test_oversized_json_body_on_a_validated_route_is_413_not_400(make_client, make_key):
    client = make_client(max_body_bytes=LIMIT)
    headers = {"Authorization": f"Bearer {make_key('w')}", "Content-Type": "application/json"}
    payload = b'{"name": "' + b"x" * LIMIT + b'", "source": {"url": "https://example.org"}}'
    response = client.post("/_probe/things", content=iter([payload]), headers=headers)
    assert_problem(response, 413, "content-too-large")


def test_chunked_body_over_the_limit_on_a_real_server(make_live_server, http: httpx.Client):
    server = make_live_server(max_body_bytes=LIMIT)
    response = http.post(f"{server.url}/_probe/raw", content=_chunks(LIMIT * 3))
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, 413, "content-too-large")
    within = http.post(f"{server.url}/_probe/raw", content=_chunks(LIMIT))
    assert within.json() == {"received": LIMIT}
