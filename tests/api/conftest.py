"""HTTP tests: the app through TestClient, or a real uvicorn server on 127.0.0.1 for streams.

Every fixture here sits on ``test_db``, so each test runs on SQLite and on PostgreSQL.
``probe_router`` adds routes that exist only in tests (a write, a domain failure, a crash), so the
error, auth and body-limit machinery is exercised before the resource routes exist.
"""

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, HttpUrl
from sqlalchemy import text

from service.api.deps import ReaderDep, RuntimeDep, WriterDep
from service.api.openapi import WRITE_PROBLEMS
from service.api.pagination import Cursor, decode_cursor
from service.api.server import StanceServer, server_config
from service.app import create_app
from service.auth.registry import create_key
from service.config import Settings
from service.db import Database
from service.domain import errors as domain
from service.store.event_store import ConcurrencyError, EventStore, NewEvent
from tests.conftest import ProvisionedDatabase


class Source(BaseModel):
    url: HttpUrl


class Thing(BaseModel):
    name: str = Field(min_length=1)
    source: Source
    aliases: list[str] = []


probe_router = APIRouter(prefix="/_probe", include_in_schema=False)


@probe_router.post("/things", responses=WRITE_PROBLEMS)
def write_thing(thing: Thing, principal: WriterDep) -> dict[str, str]:
    return {"name": thing.name, "recorded_by": principal.recorded_by}


@probe_router.post("/raw")
async def read_raw(request: Request) -> dict[str, int]:
    return {"received": len(await request.body())}


@probe_router.get("/read")
def read_something(principal: ReaderDep) -> dict[str, str]:
    return {"name": principal.name}


@probe_router.get("/cursor")
def use_cursor(cursor: Cursor = None) -> dict[str, Any]:
    return decode_cursor(cursor, kind="probe") if cursor else {}


_FAILURES: dict[str, Exception] = {
    "unknown-actor": domain.UnknownActor("no actor 'nobody'"),
    "already": domain.ActorAlreadyRegistered("actor 'x' exists"),
    "retracted": domain.StatementIsRetracted("statement is retracted"),
    "quote": domain.InvalidQuote("the quote is empty"),
    "concurrency": ConcurrencyError("actor-x", 1, 3),
    "crash": RuntimeError("secret connection string postgres://user:pw@db"),
}


@probe_router.api_route("/fail/{kind}", methods=["GET", "POST"])
def fail(kind: str) -> None:
    raise _FAILURES[kind]


@probe_router.get("/echo")
def echo(runtime: RuntimeDep, value: str) -> dict[str, str]:
    """Sends ``value`` to the database unchecked, as a route with loose validation would."""
    with runtime.database.read() as session:
        stored = session.execute(text("SELECT CAST(:value AS TEXT)"), {"value": value}).scalar()
    return {"value": str(stored)}


@probe_router.post("/statements/{statement_id}/approval")
def approve(statement_id: str) -> None:
    raise domain.UnknownStatement(f"no statement {statement_id}")


def build_app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.include_router(probe_router)
    return app


@pytest.fixture
def make_settings(test_db: ProvisionedDatabase) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return Settings(database_url=test_db.url, **overrides)

    return make


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """Clients for apps with the given settings, each with its lifespan running."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(build_app(make_settings(**overrides)), raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(api_key_cache_seconds=0)


@pytest.fixture
def db(test_db: ProvisionedDatabase) -> Database:
    return Database(test_db.engine)


@pytest.fixture
def make_key(db: Database) -> Callable[..., str]:
    def make(name: str, *, can_write: bool = True) -> str:
        with db.write() as session:
            return create_key(session, name=name, can_write=can_write).key

    return make


def append_events(
    db: Database, count: int, *, event_type: str = "ThingHappened", stream_id: str = "thing-1"
) -> list[int]:
    """Append ``count`` events in one transaction; their positions."""
    events = [
        NewEvent(event_type, {"n": n}, metadata={"recorded_by": "test"}) for n in range(count)
    ]
    with db.write() as session:
        result = EventStore().append(
            session, stream_id=stream_id, expected_version=None, events=events
        )
    return result.positions


class LiveServer:
    """The app under a real uvicorn (``StanceServer``) in a thread, on a free local port."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.server = StanceServer(
            server_config(app, host="127.0.0.1", port=0, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def start(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert self.thread.is_alive(), "the server died while starting"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def notify(self, position: int) -> None:
        """What a writer in the server's process does after its commit."""
        self.app.state.runtime.notifier.notify(position)

    def stop(self, timeout: float = 15) -> float:
        """Stop the server; the seconds it took."""
        started = time.monotonic()
        self.server.should_exit = True
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the server did not shut down"
        return time.monotonic() - started


@pytest.fixture
def make_live_server(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def make(**overrides: Any) -> LiveServer:
        server = LiveServer(build_app(make_settings(**overrides))).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        if server.thread.is_alive():
            server.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(10.0)) as client:
        yield client


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of ``status`` and type ``slug``; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"urn:stance:problem:{slug}"
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == response.request.url.path
    return body  # type: ignore[no-any-return]
