"""The URL guard's rules, without a network: URL syntax, address classes, resolution checks."""

import ipaddress
import socket

import pytest

from service.net.url_guard import (
    DisallowedAddress,
    UnsafeUrl,
    check_destination,
    check_url,
    is_public_address,
    resolve_checked,
)
from tests.webhooks.conftest import FakeDns

REFUSED_ADDRESSES = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "100.64.0.1",  # carrier-grade NAT
    "100.127.255.254",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",  # broadcast
    "192.0.0.8",
    "192.0.2.1",  # documentation
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "::ffff:10.0.0.1",  # IPv4-mapped
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::10.0.0.1",  # IPv4-compatible (deprecated)
    "fc00::1",  # unique-local
    "fd12:3456:789a::1",
    "fe80::1",  # link-local
    "fe80::1%eth0",
    "fec0::1",  # site-local (deprecated)
    "ff02::1",  # multicast
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b:1::1",  # local-use NAT64
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:db8::1",  # documentation
    "3fff::1",
    "100::1",  # discard
]
PUBLIC_ADDRESSES = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",  # just outside 172.16/12
    "100.128.0.1",  # just outside 100.64/10
    "11.0.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(address)
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("https://hooks.example.com/stance", "hooks.example.com", 443),
        ("http://hooks.example.com:8080/a?b=c", "hooks.example.com", 8080),
        ("HTTPS://Hooks.Example.COM./x", "hooks.example.com.", 443),
        ("https://bücher.example/", "xn--bcher-kva.example", 443),
        ("http://93.184.216.34/", "93.184.216.34", 80),
        ("http://[2606:4700:4700::1111]:81/", "2606:4700:4700::1111", 81),
        ("https://my_host.example.com/", "my_host.example.com", 443),
    ],
)
def test_check_url_accepts_plain_http_urls(url: str, host: str, port: int) -> None:
    target = check_url(url)
    assert (target.host, target.port) == (host, port)
    assert target.scheme in ("http", "https")


def test_check_url_reports_ip_literals() -> None:
    assert check_url("http://[::ffff:10.0.0.1]/").address == ipaddress.ip_address("::ffff:a00:1")
    assert check_url("http://example.com/").address is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "required"),
        ("ftp://example.com/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://example.com/", "scheme"),
        ("example.com/hook", "scheme"),
        ("//example.com/hook", "scheme"),
        ("http:///hook", "no host"),
        ("http://user:secret@example.com/", "user name"),
        ("http://example.com@10.0.0.1/", "user name"),
        ("http://evil.example\\@good.example/", "backslash"),
        ("http://exa mple.com/", "whitespace"),
        ("http://example.com/\r\nX-Injected: 1", "whitespace"),
        ("http://127.1/", "numeric"),
        ("http://2130706433/", "numeric"),
        ("http://0x7f.1/", "numeric"),
        ("http://0177.0.0.1/", "not a valid URL"),
        ("http://[fe80::1%25eth0]/", "percent"),
        ("http://a%2eb.example/", "percent"),
        ("http://exa$mple.com/", "valid host"),
        ("http://example.com:0/", "out of range"),
        ("http://example.com:70000/", "out of range"),
        ("http://[::1/", "valid URL"),
        ("http://example.com/" + "a" * 2100, "longer"),
    ],
)
def test_check_url_refuses_with_a_clear_reason(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl, match=reason):
        check_url(url)


def test_unsafe_url_is_a_value_error() -> None:
    assert issubclass(UnsafeUrl, ValueError)
    assert issubclass(DisallowedAddress, UnsafeUrl)


@pytest.mark.anyio
@pytest.mark.parametrize("literal", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1"])
async def test_literals_are_checked_without_a_lookup(literal: str) -> None:
    dns = FakeDns({})
    with pytest.raises(DisallowedAddress) as refused:
        await resolve_checked(literal, 80, allow_private=False, resolver=dns)
    assert dns.lookups == []
    assert refused.value.address == ipaddress.ip_address(literal)
    assert str(refused.value).startswith(f"{literal} is ")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "private", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "::ffff:10.0.0.1"]
)
async def test_a_name_resolving_to_any_private_address_is_refused(private: str) -> None:
    dns = FakeDns({"hooks.example.com": ["93.184.216.34", private]})
    with pytest.raises(DisallowedAddress, match=r"hooks\.example\.com resolves to"):
        await resolve_checked("hooks.example.com", 443, allow_private=False, resolver=dns)


@pytest.mark.anyio
async def test_public_answers_are_returned_in_order_without_duplicates() -> None:
    dns = FakeDns({"hooks.example.com": ["93.184.216.34", "2606:2800::1", "93.184.216.34"]})
    addresses = await resolve_checked("hooks.example.com", 443, allow_private=False, resolver=dns)
    assert [str(address) for address in addresses] == ["93.184.216.34", "2606:2800::1"]


@pytest.mark.anyio
async def test_allow_private_lets_private_answers_through() -> None:
    dns = FakeDns({"receiver.local": ["127.0.0.1"]})
    addresses = await resolve_checked("receiver.local", 80, allow_private=True, resolver=dns)
    assert [str(address) for address in addresses] == ["127.0.0.1"]


@pytest.mark.anyio
async def test_an_unknown_name_is_an_os_error_not_a_refusal() -> None:
    with pytest.raises(socket.gaierror):
        await resolve_checked("nowhere.example", 80, allow_private=False, resolver=FakeDns({}))


@pytest.mark.anyio
async def test_the_system_resolver_resolves_localhost() -> None:
    with pytest.raises(DisallowedAddress):
        await resolve_checked("localhost", 80, allow_private=False)
    assert await resolve_checked("localhost", 80, allow_private=True)


@pytest.mark.anyio
async def test_check_destination_checks_syntax_then_addresses() -> None:
    dns = FakeDns({"hooks.example.com": ["93.184.216.34"], "internal.example.com": ["10.0.0.7"]})
    target = await check_destination(
        "https://hooks.example.com/in", allow_private=False, resolver=dns
    )
    assert target.url == "https://hooks.example.com/in"
    with pytest.raises(DisallowedAddress):
        await check_destination("https://internal.example.com/", allow_private=False, resolver=dns)
    with pytest.raises(UnsafeUrl, match="scheme"):
        await check_destination("ftp://hooks.example.com/", allow_private=True, resolver=dns)
