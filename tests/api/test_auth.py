"""API keys on the wire: 401 without or with a bad key, 403 read-only, public or private reads."""

import hashlib

from sqlalchemy import text

from service.auth.authenticator import ApiKeyAuthenticator
from service.auth.keys import Principal
from service.auth.registry import create_key, revoke_key
from tests.api.conftest import assert_problem

THING = {"name": "x", "source": {"url": "https://example.org/a"}}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_write_without_a_key_is_401_with_a_bearer_challenge(client):
    response = client.post("/_probe/things", json=THING)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer ")


def test_write_with_an_unknown_or_malformed_key_is_401_invalid_token(client):
    for key in ["stk_" + "A" * 43, "not-a-key", "stk_"]:
        response = client.post("/_probe/things", json=THING, headers=_bearer(key))
        assert_problem(response, 401, "unauthorized")
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    response = client.post("/_probe/things", json=THING, headers={"Authorization": "Basic eDp5"})
    assert_problem(response, 401, "unauthorized")


def test_write_with_a_read_only_key_is_403(client, make_key):
    response = client.post(
        "/_probe/things", json=THING, headers=_bearer(make_key("ro", can_write=False))
    )
    body = assert_problem(response, 403, "forbidden")
    assert "'ro'" in body["detail"]


def test_write_with_a_write_key_records_who_wrote(client, make_key):
    response = client.post("/_probe/things", json=THING, headers=_bearer(make_key("newsroom")))
    assert response.status_code == 200
    assert response.json() == {"name": "x", "recorded_by": "key:newsroom"}


def test_auth_is_checked_before_the_body_is_judged(client):
    assert_problem(client.post("/_probe/things", json={}), 401, "unauthorized")


def test_revoked_key_is_refused(client, make_key, db):
    key = make_key("gone")
    assert client.post("/_probe/things", json=THING, headers=_bearer(key)).status_code == 200
    with db.write() as session:
        assert revoke_key(session, name="gone")
    assert_problem(
        client.post("/_probe/things", json=THING, headers=_bearer(key)), 401, "unauthorized"
    )


def test_reads_are_public_by_default_but_a_bad_key_is_still_refused(client, make_key):
    assert client.get("/_probe/read").json() == {"name": "anonymous"}
    assert client.get("/v1/events").status_code == 200
    assert client.get("/_probe/read", headers=_bearer(make_key("r", can_write=False))).json() == {
        "name": "r"
    }
    assert_problem(client.get("/v1/events", headers=_bearer("stk_nope")), 401, "unauthorized")


def test_private_reads_need_any_valid_key(make_client, make_key):
    client = make_client(public_reads=False)
    response = client.get("/v1/events")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert (
        client.get("/v1/events", headers=_bearer(make_key("ro", can_write=False))).status_code
        == 200
    )
    assert client.get("/_probe/read", headers=_bearer(make_key("rw"))).json() == {"name": "rw"}


def test_only_the_hash_of_a_key_is_stored(db, make_key):
    key = make_key("hashed")
    with db.read() as session:
        rows = session.connection().execute(text("SELECT * FROM api_keys")).mappings().all()
    assert len(rows) == 1
    assert rows[0]["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert rows[0]["prefix"] == key[:12]
    assert not any(key in str(value) for value in rows[0].values())


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cache_serves_lookups_and_honours_revocation_after_its_ttl(db):
    clock = FakeClock()
    authenticator = ApiKeyAuthenticator(db, ttl_seconds=5, clock=clock)
    with db.write() as session:
        key = create_key(session, name="cached", can_write=True).key
    assert authenticator.authenticate(key) == Principal("cached", True)
    with db.write() as session:
        revoke_key(session, name="cached")
    clock.now += 4.9
    assert authenticator.authenticate(key) == Principal("cached", True)  # still cached
    clock.now += 0.2
    assert authenticator.authenticate(key) is None  # revocation seen within the TTL


def test_cache_is_bounded(db):
    authenticator = ApiKeyAuthenticator(db, ttl_seconds=60, max_entries=3)
    for n in range(10):
        authenticator.authenticate(f"stk_unknown{n}")
    assert len(authenticator._cache) == 3
