"""The guarded transport against real servers on 127.0.0.1.

Where a test needs a destination the guard allows, 127.0.0.0/8 stands in for the public internet
(``loopback_counts_as_public``) and names are answered by ``FakeDns``; the ``RecordingConnector``
shows which sockets were opened, so "refused without connecting" is checked, not assumed.
"""

import ssl
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from service.net.transport import BlockedDestination, GuardedTransport, build_client
from tests.webhooks.conftest import FakeDns, RecordingConnector, loopback_counts_as_public

pytestmark = pytest.mark.anyio

TIMEOUT = httpx.Timeout(5.0)


@pytest.fixture(params=[False, True], ids=["httpcore", "http1"])
def lean(request: pytest.FixtureRequest) -> bool:
    """Both transports open their connections through the guard; each test runs on both."""
    return bool(request.param)


def guarded_client(
    *,
    dns: FakeDns | None = None,
    connector: RecordingConnector | None = None,
    widen: bool = False,
    verify: ssl.SSLContext | bool = True,
    follow_redirects: bool = True,
    lean: bool = False,
) -> httpx.AsyncClient:
    transport = GuardedTransport(
        resolver=dns,
        address_allowed=loopback_counts_as_public if widen else None,
        connector=connector,
        verify=verify,
        lean=lean,
    )
    return httpx.AsyncClient(
        transport=transport, timeout=TIMEOUT, follow_redirects=follow_redirects, trust_env=False
    )


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "[::ffff:10.0.0.1]"]
)
async def test_private_literals_are_refused_without_connecting(
    receiver: HTTPServer, host: str, lean: bool
) -> None:
    receiver.expect_request("/hook").respond_with_data("reached")
    connector = RecordingConnector()
    async with guarded_client(lean=lean, connector=connector) as client:
        with pytest.raises(BlockedDestination) as refused:
            await client.get(f"http://{host}:{receiver.port}/hook")
    assert connector.connected == []
    assert receiver.log == []
    assert refused.value.request.url.path == "/hook"
    assert isinstance(refused.value, httpx.TransportError)


@pytest.mark.parametrize(
    "private", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "::ffff:10.0.0.1"]
)
async def test_names_resolving_to_private_addresses_are_refused(
    receiver: HTTPServer, private: str, lean: bool
) -> None:
    connector = RecordingConnector()
    dns = FakeDns({"sneaky.example": ["93.184.216.34", private]})
    async with guarded_client(lean=lean, dns=dns, connector=connector) as client:
        with pytest.raises(BlockedDestination, match=r"sneaky\.example resolves to"):
            await client.get(f"http://sneaky.example:{receiver.port}/")
    assert connector.connected == []
    assert receiver.log == []


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/",
        "http://metadata.internal/computeMetadata/v1/",
    ],
)
async def test_a_redirect_towards_a_private_address_is_refused(
    receiver: HTTPServer, target: str, lean: bool
) -> None:
    receiver.expect_request("/start").respond_with_response(
        Response(status=302, headers={"Location": target})
    )
    connector = RecordingConnector()
    dns = FakeDns({"public.example": ["127.0.0.1"], "metadata.internal": ["169.254.169.254"]})
    async with guarded_client(lean=lean, dns=dns, connector=connector, widen=True) as client:
        with pytest.raises(BlockedDestination) as refused:
            await client.get(f"http://public.example:{receiver.port}/start")
    assert connector.connected == [("127.0.0.1", receiver.port)]  # the first hop only
    assert [request.path for request, _ in receiver.log] == ["/start"]
    assert refused.value.request.url == httpx.URL(target)


async def test_redirects_between_allowed_hosts_still_work(receiver: HTTPServer, lean: bool) -> None:
    receiver.expect_request("/start").respond_with_response(
        Response(status=302, headers={"Location": f"http://other.example:{receiver.port}/end"})
    )
    receiver.expect_request("/end").respond_with_data("arrived")
    dns = FakeDns({"public.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    async with guarded_client(lean=lean, dns=dns, widen=True) as client:
        response = await client.get(f"http://public.example:{receiver.port}/start")
    assert response.text == "arrived"
    assert [str(url.host) for url in [r.url for r in response.history]] == ["public.example"]


async def test_dns_rebinding_cannot_move_the_connection(receiver: HTTPServer, lean: bool) -> None:
    """The first answer is checked and connected to; later answers never reach the socket."""
    seen_hosts: list[str] = []

    def handler(request: Request) -> Response:
        seen_hosts.append(request.headers["Host"])
        return Response("checked address", headers={"Connection": "close"})

    receiver.expect_request("/").respond_with_handler(handler)
    dns = FakeDns({"rebind.example": [["127.0.0.1"], ["10.0.0.1"]]})
    connector = RecordingConnector()
    async with guarded_client(lean=lean, dns=dns, connector=connector, widen=True) as client:
        response = await client.get(f"http://rebind.example:{receiver.port}/")
        assert response.text == "checked address"
        assert connector.connected == [("127.0.0.1", receiver.port)]
        assert seen_hosts == [f"rebind.example:{receiver.port}"]  # Host keeps the name
        # The server closed the connection, so the next request resolves again: now refused.
        with pytest.raises(BlockedDestination, match=r"10\.0\.0\.1"):
            await client.get(f"http://rebind.example:{receiver.port}/")
    assert connector.connected == [("127.0.0.1", receiver.port)]
    assert dns.lookups == ["rebind.example", "rebind.example"]


async def test_tls_is_verified_against_the_name_not_the_pinned_address(
    tls_receiver: HTTPServer, client_tls: ssl.SSLContext, lean: bool
) -> None:
    tls_receiver.expect_request("/hook").respond_with_data("secure")
    dns = FakeDns({"receiver.test": ["127.0.0.1"], "impostor.test": ["127.0.0.1"]})
    connector = RecordingConnector()
    async with guarded_client(
        lean=lean, dns=dns, connector=connector, widen=True, verify=client_tls
    ) as c:
        response = await c.get(f"https://receiver.test:{tls_receiver.port}/hook")
        assert response.text == "secure"
        assert connector.connected == [("127.0.0.1", tls_receiver.port)]
        # Same address, other name: the certificate does not cover it, and the pool must not
        # reuse the receiver.test connection for it.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await c.get(f"https://impostor.test:{tls_receiver.port}/hook")


async def test_the_next_address_is_tried_when_one_refuses(receiver: HTTPServer, lean: bool) -> None:
    receiver.expect_request("/").respond_with_data("second address")
    dns = FakeDns({"multi.example": ["127.0.0.2", "127.0.0.1"]})
    connector = RecordingConnector()
    async with guarded_client(lean=lean, dns=dns, connector=connector, widen=True) as client:
        response = await client.get(f"http://multi.example:{receiver.port}/")
    assert response.text == "second address"
    assert connector.connected == [("127.0.0.2", receiver.port), ("127.0.0.1", receiver.port)]


async def test_an_unresolvable_name_is_a_connect_error_not_a_refusal(lean: bool) -> None:
    async with guarded_client(lean=lean, dns=FakeDns({})) as client:
        with pytest.raises(httpx.ConnectError) as failed:
            await client.get("http://nowhere.example/")
    assert not isinstance(failed.value, BlockedDestination)


async def test_allow_private_reaches_a_local_receiver(receiver: HTTPServer, lean: bool) -> None:
    receiver.expect_request("/hook").respond_with_data("local ok")
    client = build_client(
        lean=lean,
        allow_private=True,
        user_agent="stance-tests/1",
        timeout=TIMEOUT,
        follow_redirects=False,
        max_redirects=0,
    )
    async with client:
        response = await client.get(receiver.url_for("/hook"))
    assert response.text == "local ok"


async def test_build_client_guards_by_default_and_sends_its_user_agent(
    receiver: HTTPServer, lean: bool
) -> None:
    receiver.expect_request("/ua").respond_with_handler(
        lambda request: Response(request.headers["User-Agent"])
    )

    def client(**injected: Any) -> httpx.AsyncClient:
        return build_client(
            lean=lean,
            allow_private=False,
            user_agent="stance-tests/1",
            timeout=TIMEOUT,
            follow_redirects=True,
            max_redirects=3,
            **injected,
        )

    async with client() as plain:
        with pytest.raises(BlockedDestination):
            await plain.get(receiver.url_for("/ua"))
    dns = FakeDns({"public.example": ["127.0.0.1"]})
    async with client(resolver=dns, address_allowed=loopback_counts_as_public) as widened:
        response = await widened.get(f"http://public.example:{receiver.port}/ua")
    assert response.text == "stance-tests/1"


async def test_the_shared_client_keeps_no_cookies(receiver: HTTPServer, lean: bool) -> None:
    receiver.expect_request("/set").respond_with_response(
        Response("set", headers={"Set-Cookie": "session=abc; Path=/"})
    )
    receiver.expect_request("/echo").respond_with_handler(
        lambda request: Response(request.headers.get("Cookie", "none"))
    )
    async with build_client(
        lean=lean,
        allow_private=True,
        user_agent="t",
        timeout=TIMEOUT,
        follow_redirects=False,
        max_redirects=0,
    ) as client:
        await client.get(receiver.url_for("/set"))
        response = await client.get(receiver.url_for("/echo"))
    assert response.text == "none"
    assert len(client.cookies) == 0


async def test_environment_proxies_are_ignored(
    receiver: HTTPServer, monkeypatch: pytest.MonkeyPatch, lean: bool
) -> None:
    """A proxy would resolve names itself, behind the guard's back."""
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.0.0.1:3128")
    receiver.expect_request("/").respond_with_data("direct")
    async with build_client(
        lean=lean,
        allow_private=True,
        user_agent="t",
        timeout=TIMEOUT,
        follow_redirects=False,
        max_redirects=0,
    ) as client:
        response = await client.get(receiver.url_for("/"))
    assert response.text == "direct"
