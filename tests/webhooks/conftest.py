"""Fixtures for the webhook and outbound-HTTP tests: real HTTP servers on 127.0.0.1, fake DNS,
and the app through TestClient with API keys for the subscription routes.

Async tests run on asyncio through anyio's pytest plugin (``pytest.mark.anyio``), the loop the
service runs on.
"""

import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import httpcore
import pytest
import trustme
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer

from service.app import create_app
from service.auth.registry import create_key
from service.db import Database
from service.net.asyncio_backend import AsyncioBackend
from service.net.url_guard import IPAddress, is_public_address
from service.webhooks.policy import RetryPolicy
from service.webhooks.worker import DeliveryWorker, build_delivery_client
from tests.webhooks.harness import WorkerFactory, World, fast_settings

LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def _plain_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver(_plain_server: HTTPServer) -> Iterator[HTTPServer]:
    """A threaded HTTP server on 127.0.0.1 (so a slow handler blocks nothing), clean per test."""
    _plain_server.clear()
    yield _plain_server
    _plain_server.clear()


@pytest.fixture(scope="session")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def _tls_server(certificate_authority: trustme.CA) -> Iterator[HTTPServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("receiver.test").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tls_receiver(_tls_server: HTTPServer) -> Iterator[HTTPServer]:
    """An HTTPS server on 127.0.0.1 whose certificate names only ``receiver.test``."""
    _tls_server.clear()
    yield _tls_server
    _tls_server.clear()


@pytest.fixture
def client_tls(certificate_authority: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts only the test CA."""
    context = ssl.create_default_context()
    certificate_authority.configure_trust(context)
    return context


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def loopback_counts_as_public(address: IPAddress) -> bool:
    """The guard's rule, except that 127.0.0.0/8 stands in for "the public internet" in tests."""
    return address in LOOPBACK_V4 or is_public_address(address)


class FakeDns:
    """A resolver with scripted answers; a list of answers per name is served one per lookup."""

    def __init__(self, answers: dict[str, list[str] | list[list[str]]]) -> None:
        self._answers = answers
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        try:
            answer = self._answers[host]
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} not found") from None
        if answer and isinstance(answer[0], list):
            index = min(self.lookups.count(host), len(answer)) - 1
            return list(answer[index])
        return list(answer)  # type: ignore[arg-type]


class RecordingConnector(httpcore.AsyncNetworkBackend):
    """Opens real sockets and remembers where to: proof of what was (not) connected."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []
        self._real = AsyncioBackend()  # the backend the service uses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return await self._real.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self._real.sleep(seconds)


@pytest.fixture
def make_api(test_db: Any) -> Iterator[Callable[..., TestClient]]:
    """Apps with the webhook test settings (overridable), each with its lifespan running."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(
            create_app(fast_settings(test_db.url, **overrides)), raise_server_exceptions=False
        )
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


def _key_headers(database: Database, name: str, *, can_write: bool) -> dict[str, str]:
    with database.write() as session:
        key = create_key(session, name=name, can_write=can_write).key
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def writer(database: Database) -> dict[str, str]:
    """Authorization headers of a key that may write."""
    return _key_headers(database, "hooks-admin", can_write=True)


@pytest.fixture
def reader(database: Database) -> dict[str, str]:
    """Authorization headers of a read-only key."""
    return _key_headers(database, "hooks-reader", can_write=False)


@pytest.fixture
def world(database: Database, test_db: Any) -> World:
    """The write side on the test database, with two actors and two topics."""
    world = World(database, fast_settings(test_db.url))
    world.catalog(["lukashenko", "tokayev"], ["war-justified", "sanctions"])
    return world


@pytest.fixture
async def worker(database: Database, test_db: Any) -> AsyncIterator[DeliveryWorker]:
    """A running delivery worker with the test settings, as the process runs one."""
    settings = fast_settings(test_db.url)
    async with build_delivery_client(settings) as client:
        running = DeliveryWorker(database, client, settings)
        await running.start()
        yield running
        await running.stop()


@pytest.fixture
async def make_worker(database: Database, test_db: Any) -> AsyncIterator[WorkerFactory]:
    """Workers with test settings (overridable) on a shared client that may reach 127.0.0.1."""
    made: list[DeliveryWorker] = []
    async with build_delivery_client(fast_settings(test_db.url)) as client:

        def make(*, policy: RetryPolicy | None = None, **overrides: Any) -> DeliveryWorker:
            settings = fast_settings(test_db.url, **overrides)
            worker = DeliveryWorker(database, client, settings, policy=policy)
            made.append(worker)
            return worker

        yield make
        for worker in made:
            await worker.stop()
