"""The stance routes answered from the response cache: fresh after writes, exact per query,
conditional GET, bounded. Each test runs on SQLite and PostgreSQL (``test_db``).

"Another process" is a real one: a Python subprocess that records a statement through its own
engine and projector, as ``stance serve`` on another machine or ``stance worker`` would.
"""

import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.stance_json import matrix_body, stance_body
from service.api.stance_schemas import StanceMatrix, StanceOut
from service.api.times import parse_time
from service.app import create_app
from service.config import Settings
from service.db import Database
from service.demo.loader import load_demo
from service.domain.commands import RecordStatement
from service.domain.values import Source
from service.queries import stances
from service.readcache import VersionSource
from service.wiring import build_services
from tests.api.conftest import assert_problem
from tests.conftest import ProvisionedDatabase

SOURCE = {"url": "https://example.org/spief", "title": "SPIEF", "publisher": "Wire"}
MATRIX = "/v1/stances"
TOKAYEV = "/v1/stances/tokayev/war-justified"


def tokayev_says(stance: str, stated_at: str = "2022-09-01") -> dict[str, Any]:
    return {
        "actor_id": "tokayev",
        "topic_id": "war-justified",
        "stance": stance,
        "quote": f"Tokayev {stance} ({stated_at}).",
        "stated_at": stated_at,
        "kind": "direct_quote",
        "source": SOURCE,
    }


@pytest.fixture
def demo(test_db: ProvisionedDatabase) -> ProvisionedDatabase:
    load_demo(build_services(Settings(database_url=test_db.url), Database(test_db.engine)).bus)
    return test_db


@pytest.fixture
def writer(make_key: Callable[..., str], demo: ProvisionedDatabase) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key('newsroom')}"}


def tokayev(client: TestClient, **params: str) -> str | None:
    """Tokayev's stance on the war in the matrix (None: no stance)."""
    response = client.get(MATRIX, params={"actor": "tokayev", **params})
    assert response.status_code == 200, response.text
    found = [s["stance"] for s in response.json()["stances"] if s["topic"] == "war-justified"]
    return found[0] if found else None


def write_in_another_process(url: str, body: dict[str, Any]) -> None:
    script = textwrap.dedent(
        f"""
        import uuid
        from datetime import UTC, datetime

        from service.config import Settings
        from service.domain.commands import RecordStatement
        from service.domain.values import Source
        from service.wiring import build_services

        body = {body!r}
        services = build_services(Settings(database_url={url!r}))
        services.bus.execute(
            RecordStatement(
                statement_id=uuid.uuid4(), actor_id=body["actor_id"],
                topic_id=body["topic_id"], stance=body["stance"], quote=body["quote"],
                kind=body["kind"],
                stated_at=datetime.fromisoformat(body["stated_at"]).replace(tzinfo=UTC),
                source=Source(published_at=None, **body["source"]),
            ),
            metadata={{"recorded_by": "other-process"}},
        )
        services.close()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def install_manual_clock(client: TestClient, max_age_seconds: float) -> ManualClock:
    """Give the app's version source a clock the test moves by hand."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    clock = ManualClock()
    runtime.reads.version = VersionSource.for_database(
        runtime.database, max_age_seconds=max_age_seconds, clock=clock
    )
    runtime.services.bus.after_write.append(runtime.reads.version.mark_stale)
    return clock


def test_a_write_in_this_process_is_seen_by_the_very_next_read(
    make_client: Callable[..., TestClient], writer: dict[str, str]
):
    # A version held for a minute: only the write's own signal can make the next read fresh.
    client = make_client(read_model_version_max_age_ms=60_000)
    for _ in range(3):  # the route, then the cache in front of it
        assert tokayev(client) == "leans_opposes"
        assert client.get(TOKAYEV).json()["stance"] == "leans_opposes"

    posted = client.post("/v1/statements", json=tokayev_says("opposes"), headers=writer)
    assert posted.status_code == 201, posted.text

    assert tokayev(client) == "opposes"
    assert client.get(TOKAYEV).json()["stance"] == "opposes"
    assert tokayev(client, as_of="2022-09-30") == "opposes"


def test_a_write_by_another_process_is_seen_once_the_version_is_read_again(
    make_client: Callable[..., TestClient], demo: ProvisionedDatabase
):
    # Without PostgreSQL's wake-ups (SQLite, or STANCE_PG_LISTEN=false), only the bound helps.
    client = make_client(pg_listen=False)
    clock = install_manual_clock(client, max_age_seconds=0.5)
    assert tokayev(client) == "leans_opposes"
    assert tokayev(client) == "leans_opposes"

    write_in_another_process(demo.url, tokayev_says("opposes"))
    # Within the bound this process may still serve what it had: here, it does.
    clock.now += 0.4
    assert tokayev(client) == "leans_opposes"
    # Past the bound the checkpoint is read again, and the other process's write shows.
    clock.now += 0.2
    assert tokayev(client) == "opposes"
    assert client.get(TOKAYEV).json()["stance"] == "opposes"


def test_a_cross_process_signal_makes_the_next_read_fresh(
    make_client: Callable[..., TestClient], demo: ProvisionedDatabase
):
    """Where LISTEN/NOTIFY plugs in: ``mark_stale`` on a notification."""
    client = make_client(read_model_version_max_age_ms=60_000, pg_listen=False)
    assert tokayev(client) == "leans_opposes"
    write_in_another_process(demo.url, tokayev_says("opposes"))
    assert tokayev(client) == "leans_opposes"  # held for a minute, and nothing said otherwise

    client.app.state.runtime.reads.version.mark_stale()  # type: ignore[attr-defined]
    assert tokayev(client) == "opposes"


def test_with_the_default_bound_another_process_s_write_shows_up(
    make_client: Callable[..., TestClient], demo: ProvisionedDatabase
):
    client = make_client()
    assert tokayev(client) == "leans_opposes"
    write_in_another_process(demo.url, tokayev_says("opposes"))
    deadline = time.monotonic() + 30
    while tokayev(client) != "opposes":
        assert time.monotonic() < deadline, "the other process's write never showed"
        time.sleep(0.02)


def test_on_postgresql_another_process_s_projection_wakes_the_cache(
    make_database: Callable[..., ProvisionedDatabase],
):
    """The version is held for a minute, so only the listener's signal can make it fresh."""
    postgres = make_database("postgresql")
    load_demo(build_services(Settings(database_url=postgres.url), Database(postgres.engine)).bus)
    with TestClient(
        create_app(Settings(database_url=postgres.url, read_model_version_max_age_ms=60_000)),
        raise_server_exceptions=False,
    ) as client:
        assert tokayev(client) == "leans_opposes"
        write_in_another_process(postgres.url, tokayev_says("opposes"))
        deadline = time.monotonic() + 30
        while tokayev(client) != "opposes":
            assert time.monotonic() < deadline, "no signal reached the cache"
            time.sleep(0.02)


def _write_elsewhere(url: str, body: dict[str, Any]) -> int:
    """Record and project a statement through another engine; the position it landed at."""
    services = build_services(Settings(database_url=url))
    try:
        return services.bus.execute(
            RecordStatement(
                statement_id=uuid.uuid4(),
                actor_id=body["actor_id"],
                topic_id=body["topic_id"],
                stance=body["stance"],
                quote=body["quote"],
                kind=body["kind"],
                stated_at=datetime.fromisoformat(body["stated_at"]).replace(tzinfo=UTC),
                source=Source(published_at=None, **body["source"]),
            )
        ).position
    finally:
        services.close()


def test_min_position_is_never_answered_from_an_older_cached_version(
    make_client: Callable[..., TestClient], demo: ProvisionedDatabase
):
    """Read-your-writes through another replica: the cache holds its version for a minute and
    hears nothing from the writer, yet a read asking for the write's position sees it."""
    client = make_client(read_model_version_max_age_ms=60_000, pg_listen=False)
    for _ in range(2):  # the route, then the cache in front of it
        assert tokayev(client) == "leans_opposes"
        assert client.get(TOKAYEV).json()["stance"] == "leans_opposes"

    position = _write_elsewhere(demo.url, tokayev_says("opposes"))

    assert tokayev(client) == "leans_opposes"  # without a position: the cached version
    assert tokayev(client, min_position=str(position)) == "opposes"
    header = client.get(TOKAYEV, headers={"X-Min-Position": str(position)})
    assert header.json()["stance"] == "opposes"
    query = client.get(TOKAYEV, params={"min_position": position})
    assert query.json()["stance"] == "opposes"


def test_etag_and_if_none_match(make_client: Callable[..., TestClient], writer: dict[str, str]):
    client = make_client()
    first = client.get(MATRIX)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["cache-control"] == "public, no-cache"

    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(MATRIX, headers={"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, no-cache"
    assert client.get(MATRIX, headers={"If-None-Match": '"other"'}).status_code == 200
    # Another query has another tag, even at the same version.
    other = client.get(MATRIX, params={"as_of": "2022-06-30"})
    assert other.headers["etag"] != etag
    not_that = client.get(MATRIX, params={"as_of": "2022-06-30"}, headers={"If-None-Match": etag})
    assert not_that.status_code == 200

    one = client.get(TOKAYEV)
    assert client.get(TOKAYEV, headers={"If-None-Match": one.headers["etag"]}).status_code == 304

    client.post("/v1/statements", json=tokayev_says("opposes"), headers=writer)
    moved = client.get(MATRIX, headers={"If-None-Match": etag})
    assert moved.status_code == 200
    assert moved.headers["etag"] != etag
    assert client.get(TOKAYEV, headers={"If-None-Match": one.headers["etag"]}).status_code == 200


def test_the_etag_is_the_same_in_every_process_on_the_same_database(
    make_client: Callable[..., TestClient], demo: ProvisionedDatabase
):
    one, two = make_client(), make_client()
    assert one.get(MATRIX).headers["etag"] == two.get(MATRIX).headers["etag"]
    assert one.get(MATRIX).content == two.get(MATRIX).content


QUERIES: list[tuple[str, dict[str, Any]]] = [
    (MATRIX, {}),
    (MATRIX, {"as_of": "2022-01-01"}),
    (MATRIX, {"as_of": "2022-06-30"}),
    (MATRIX, {"as_of": "2022-06-30T12:00:00Z"}),
    (MATRIX, {"as_of": "2022-06-30", "known_at": "2022-05-20"}),
    (MATRIX, {"known_at": "2030-01-01"}),
    (MATRIX, {"actor": "lukashenko"}),
    (MATRIX, {"actor": ["lukashenko", "tokayev"]}),
    (MATRIX, {"topic": "war-justified"}),
    (MATRIX, {"actor": "tokayev", "topic": "war-justified", "as_of": "2022-06-30"}),
    (MATRIX, {"limit": 2}),
    (MATRIX, {"limit": 3}),
    ("/v1/stances/lukashenko/war-justified", {}),
    ("/v1/stances/lukashenko/war-justified", {"as_of": "2022-01-01"}),
    (TOKAYEV, {}),
    (TOKAYEV, {"as_of": "2022-06-30"}),
]


def test_the_cache_never_answers_for_other_parameters(
    make_client: Callable[..., TestClient], demo: ProvisionedDatabase
):
    cached = make_client()
    uncached = make_client(read_cache_max_bytes=0)
    seen: dict[bytes, tuple[str, dict[str, Any]]] = {}
    for _ in range(3):  # interleaved, repeated: the route, then the cache in front of it
        for path, params in QUERIES:
            answer = cached.get(path, params=params)
            truth = uncached.get(path, params=params)
            assert (answer.status_code, answer.content) == (truth.status_code, truth.content)
            if answer.status_code == 200 and path == MATRIX:
                seen.setdefault(answer.content, (path, params))
    # The queries are really different: most have answers of their own.
    assert len(seen) >= 8
    page = cached.get(MATRIX, params={"limit": 2}).json()
    rest = cached.get(MATRIX, params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert page["stances"] != rest["stances"]
    everything = cached.get(MATRIX).json()["stances"]
    assert page["stances"] + rest["stances"] == everything[:4]
    assert len(cached.app.state.runtime.reads.cache) > 1  # type: ignore[attr-defined]


def test_the_bodies_are_the_bytes_the_schemas_would_write(demo: ProvisionedDatabase):
    database = Database(demo.engine)
    with database.read() as session:
        connection = session.connection()
        for as_of in (None, "2022-01-01", "2022-06-30"):
            valid = parse_time(as_of, field="as_of")
            views = stances(connection, as_of=valid)
            body = matrix_body(as_of=valid, known_at=None, views=views, next_cursor="abc")
            schema = StanceMatrix(
                as_of=valid,
                known_at=None,
                stances=[StanceOut.of(v) for v in views],
                next_cursor="abc",
            )
            assert body == schema.model_dump_json().encode()
            for view in views:
                assert stance_body(view) == StanceOut.of(view).model_dump_json().encode()
    assert views, "the demo has stances"


def test_a_stance_that_is_not_there_is_404_and_appears_after_a_write(
    make_client: Callable[..., TestClient], writer: dict[str, str]
):
    client = make_client(read_model_version_max_age_ms=60_000)
    path = "/v1/stances/tokayev/nuclear-weapons-in-belarus"
    for _ in range(3):
        assert_problem(client.get(path), 404, "not-found")
    body = {**tokayev_says("opposes"), "topic_id": "nuclear-weapons-in-belarus"}
    assert client.post("/v1/statements", json=body, headers=writer).status_code == 201
    assert client.get(path).json()["stance"] == "opposes"


def test_keys_are_still_checked_on_cached_reads(
    make_client: Callable[..., TestClient], make_key: Callable[..., str], demo: ProvisionedDatabase
):
    public = make_client()
    for _ in range(3):
        assert public.get(MATRIX).status_code == 200
    bad = {"Authorization": "Bearer stk_not-a-key"}
    assert_problem(public.get(MATRIX, headers=bad), 401, "unauthorized")

    private = make_client(public_reads=False)
    key = {"Authorization": f"Bearer {make_key('reader', can_write=False)}"}
    for _ in range(3):
        answer = private.get(MATRIX, headers=key)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "private, no-cache"
    assert_problem(private.get(MATRIX), 401, "unauthorized")


def test_the_cache_stays_bounded(make_client: Callable[..., TestClient], demo: ProvisionedDatabase):
    client = make_client(read_cache_max_entries=3)
    for day in range(1, 11):
        assert client.get(MATRIX, params={"as_of": f"2022-06-{day:02d}"}).status_code == 200
    reads = client.app.state.runtime.reads  # type: ignore[attr-defined]
    assert len(reads.cache) == 3
    assert len(reads.aliases) == 3

    many = ["tokayev"] * 499  # a long query, a long key (filters name what the catalog has)
    for _ in range(2):
        long = client.get(MATRIX, params={"actor": [*many, "kassym-jomart tokayev"]})
        assert [s["actor"] for s in long.json()["stances"]] == ["tokayev", "tokayev"]
    # Answered and cached, but not written down by its raw form; its key counts as bytes.
    assert reads.aliases.lookup(("GET", MATRIX, long.request.url.query)) is None
    assert reads.aliases.lookup(("GET", MATRIX, b"as_of=2022-06-10")) is not None
    assert max(e.size - len(e.body) for e in reads.cache._entries.values()) > 499 * len("tokayev")

    whole = len(client.get(MATRIX).content)
    small = make_client(read_cache_max_bytes=4 * (whole // 2))  # a whole matrix is too big
    for day in range(1, 11):
        small.get(MATRIX, params={"as_of": f"2022-06-{day:02d}"})
    small.get(MATRIX)
    cache = small.app.state.runtime.reads.cache  # type: ignore[attr-defined]
    assert cache.size_bytes <= cache.max_bytes
    assert all(entry.size <= cache.max_bytes // 4 for entry in cache._entries.values())
    assert small.get(MATRIX).status_code == 200  # served all the same, just not kept


def test_a_cached_answer_is_counted_in_the_metrics_under_its_route(
    make_client: Callable[..., TestClient], demo: ProvisionedDatabase
):
    client = make_client()

    def served() -> float:
        text = client.get("/metrics").text
        line = next(
            (
                line
                for line in text.splitlines()
                if line.startswith("stance_http_requests_total{")
                and 'route="/v1/stances"' in line
                and 'status="200"' in line
            ),
            None,
        )
        return float(line.rsplit(" ", 1)[1]) if line else 0.0

    def hits() -> float:
        text = client.get("/metrics").text
        line = next(x for x in text.splitlines() if x.startswith("stance_read_cache_hits_total"))
        return float(line.rsplit(" ", 1)[1])

    before, hits_before = served(), hits()
    for _ in range(5):
        assert client.get(MATRIX, params={"actor": "tokayev"}).status_code == 200
    assert served() - before == 5
    assert hits() - hits_before == 4  # the first was a miss
