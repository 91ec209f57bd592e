"""Which outbound URLs and addresses the service may call.

Subscriber and feed URLs come from users, so without a guard a request to them could reach the cloud
metadata service, the database or anything else on the private network (server-side request
forgery). The rule: only http(s) URLs with a plain host, and every address the host resolves to must
be public. Checking *every* address matters: a name that answers one public and one private address
would otherwise pass the check and then be connected to the private one.
"""

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to, as strings; tests inject their own answers.
Resolver = Callable[[str, int], Awaitable[list[str]]]
# Decides whether one address may be connected to; tests widen it to reach 127.0.0.1.
AddressPolicy = Callable[[IPAddress], bool]

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}

_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(network)
    for network in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, including the 169.254.169.254 metadata service
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, including the 255.255.255.255 broadcast
    )
)
# IPv6 is judged by allow-list: only global unicast 2000::/3 is routable on the internet, so
# loopback, unspecified, unique-local fc00::/7, link-local fe80::/10, multicast ff00::/8, the
# discard prefix and the local-use NAT64 prefix are all refused without being listed.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "2001::/23",  # IETF protocol assignments, including Teredo 2001::/32 (relayed, opaque)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
    )
)
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
# Hosts like "127.1", "2130706433" or "0x7f.1" are addresses to getaddrinfo but names to a reader.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


class UnsafeUrl(ValueError):
    """A URL the service refuses to call; the message says why and is fit to show the user."""


class DisallowedAddress(UnsafeUrl):
    """The host is, or resolves to, an address that is not public."""

    def __init__(self, host: str, address: IPAddress, *, resolved: bool) -> None:
        described = f"{host} resolves to {address}" if resolved else f"{host} is {address}"
        super().__init__(
            f"{described}, which is not a public address (loopback, private, link-local, "
            "multicast, reserved and similar destinations are refused)"
        )
        self.host = host
        self.address = address


@dataclass(frozen=True)
class ParsedTarget:
    """A URL that passed the syntax checks, split the way httpx will send it."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name, or an IP literal without brackets
    port: int
    address: IPAddress | None  # set when the host is an IP literal


def check_url(url: str) -> ParsedTarget:
    """Refuse URLs that are not plain http(s) to a named or literal host.

    The URL is parsed by httpx, the parser that will send the request, so the host checked here is
    the host connected to (two parsers that disagree are a classic way around such guards).
    """
    if not url:
        raise UnsafeUrl("a URL is required")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise UnsafeUrl("the URL must not contain whitespace or control characters")
    if "\\" in url:
        raise UnsafeUrl("the URL must not contain backslashes")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from None
    if parsed.scheme not in DEFAULT_PORTS:
        shown = parsed.scheme or "none"
        raise UnsafeUrl(f"the URL scheme must be http or https, not {shown}")
    if parsed.userinfo:
        raise UnsafeUrl("the URL must not contain a user name or password (user@host)")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise UnsafeUrl("the URL has no host")
    if "%" in host:
        raise UnsafeUrl("the host must not contain percent-escapes or IPv6 zone identifiers")
    port = DEFAULT_PORTS[parsed.scheme] if parsed.port is None else parsed.port
    if not 0 < port < 65536:
        raise UnsafeUrl(f"port {port} is out of range")
    address = _ip_literal(host)
    if address is None:
        _check_host_name(host)
    return ParsedTarget(
        url=str(parsed), scheme=parsed.scheme, host=host, port=port, address=address
    )


def is_public_address(address: IPAddress | str) -> bool:
    """True when connecting to ``address`` reaches the public internet and nothing local.

    IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``,
    6to4 ``2002::/16``) are judged by the IPv4 address they lead to, since that is where the
    packets end up: ``::ffff:10.0.0.1`` is as private as ``10.0.0.1``.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv4Address):
        return not any(ip in network for network in _BLOCKED_V4)
    if ip.scope_id:
        return False  # a zone index only means something on this machine's links
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return is_public_address(embedded)
    if ip not in _GLOBAL_UNICAST_V6:
        return False
    return not any(ip in network for network in _BLOCKED_V6)


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the event loop's getaddrinfo (a thread, so the loop keeps running)."""
    loop = asyncio.get_running_loop()
    answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for *_, sockaddr in answers]


async def resolve_checked(
    host: str,
    port: int,
    *,
    allow_private: bool,
    resolver: Resolver | None = None,
    address_allowed: AddressPolicy | None = None,
) -> list[IPAddress]:
    """The addresses of ``host``, in resolver order, after refusing the lot if any is not public.

    An IP literal is checked without a lookup. Raises ``DisallowedAddress`` (an ``UnsafeUrl``) on
    refusal, ``OSError`` (``socket.gaierror``) when the name does not resolve.
    """
    literal = _ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        addresses = _unique(
            ipaddress.ip_address(answer) for answer in await _resolve(resolver, host, port)
        )
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} has no addresses")
    if not allow_private:
        allowed = address_allowed or is_public_address
        for address in addresses:
            if not allowed(address):
                raise DisallowedAddress(host, address, resolved=literal is None)
    return addresses


async def check_destination(
    url: str,
    *,
    allow_private: bool,
    resolver: Resolver | None = None,
) -> ParsedTarget:
    """Validate a URL a user submits (a subscription, a feed): syntax, then every address.

    For the API's answer at submission time; the transport checks again at each connection, since
    DNS answers change.
    """
    target = check_url(url)
    await resolve_checked(target.host, target.port, allow_private=allow_private, resolver=resolver)
    return target


async def _resolve(resolver: Resolver | None, host: str, port: int) -> list[str]:
    return await (resolver or system_resolver)(host, port)


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_host_name(host: str) -> None:
    name = host.removesuffix(".")
    if len(name) > 253:
        raise UnsafeUrl("the host name is longer than 253 characters")
    labels = name.split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise UnsafeUrl(f"{host!r} is not a valid host name")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise UnsafeUrl(
            f"{host!r} is an ambiguous numeric host; write an IP address in standard notation"
        )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def _unique(addresses: Iterable[IPAddress]) -> list[IPAddress]:
    return list(dict.fromkeys(addresses))
