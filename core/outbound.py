"""Requests the server makes to addresses someone typed in (unit webhooks), kept from reaching
inside: the server's own ports, the office network, the cloud metadata service.

- Only `https` — and `http` only when `HUOYAN_WEBHOOK_ALLOW_HTTP` is on.
- The host is resolved once, every address it resolves to must be public (not private,
  loopback, link-local — which holds the metadata service 169.254.169.254 — multicast, reserved,
  shared or unspecified, IPv4-mapped forms included), and the connection is made to that checked
  address, with the name kept for the Host header, TLS SNI and certificate check. A second DNS
  answer (rebinding) is never asked for, so it cannot redirect the request inside.
- Receiving systems on the office network are allowed only by listing their networks in
  `HUOYAN_WEBHOOK_ALLOWED_NETWORKS` (CIDR), never by default.
- No redirects are followed (a 3xx is a failure), timeouts are short, and at most
  `MAX_RESPONSE_BYTES` of the answer are read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext_lazy as _

MAX_RESPONSE_BYTES = 64 * 1024
# The metadata service of the big clouds; inside link-local (refused anyway), named for clarity.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
BLOCKED_NAMES = ("localhost", "metadata.google.internal", "metadata")
BLOCKED_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDestination(ValueError):
    """The URL is not one the server may send to. `message` is for people (translated)."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


class UnresolvableHost(UnsafeDestination):
    pass


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in getattr(settings, "HUOYAN_WEBHOOK_ALLOWED_NETWORKS", [])]


def address_is_public(address: IPAddress) -> bool:
    """True for an address on the public internet (or in an explicitly allowed network)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks()):
        return True
    if address in METADATA_ADDRESSES:
        return False
    return bool(address.is_global) and not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified
    )


def parse_target(url: str) -> Target:
    """Check the URL's form: scheme, no credentials, a host name that is not plainly internal,
    and an IP literal only if public. Raises UnsafeDestination."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeDestination(_("This is not a valid URL.")) from None
    scheme = parts.scheme.lower()
    allow_http = bool(getattr(settings, "HUOYAN_WEBHOOK_ALLOW_HTTP", False))
    if scheme != "https" and not (scheme == "http" and allow_http):
        raise UnsafeDestination(_("Webhook addresses must start with https://."))
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination(_("Put no user name or password in the webhook address."))
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeDestination(_("The webhook address has no host."))
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not address_is_public(literal):
            raise UnsafeDestination(_("The webhook address points inside the server's own network."))
    elif host in BLOCKED_NAMES or host.endswith(BLOCKED_SUFFIXES) or "." not in host:
        if not _allowed_networks():
            raise UnsafeDestination(_("The webhook address points inside the server's own network."))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path)


def resolve_public(target: Target) -> IPAddress:
    """Resolve the host once; every address must be public. Returns the one to connect to."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnresolvableHost(_("The webhook host name does not resolve.")) from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses or not all(address_is_public(a) for a in addresses):
        raise UnsafeDestination(_("The webhook address points inside the server's own network."))
    return addresses[0]


def check_url(url: str, *, resolve: bool = True) -> None:
    """For forms: raise UnsafeDestination if the URL is plainly not allowed. With `resolve`,
    a name that resolves now to an inside address is refused too (one that does not resolve
    is let through: the check at send time decides)."""
    target = parse_target(url)
    if resolve:
        try:
            resolve_public(target)
        except UnresolvableHost:
            pass


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._address), self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((str(self._address), self.port), self.timeout)
        # SNI and the certificate check use the name, the TCP connection the checked address.
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def post_json(url: str, body: bytes, *, headers: dict[str, str], timeout: float) -> int:
    """POST `body` to `url` after the checks above; return the status. Raises UnsafeDestination
    for a refused address and OSError/HTTPException for network failures. Never follows a
    redirect; reads at most MAX_RESPONSE_BYTES of the answer."""
    target = parse_target(url)
    address = resolve_public(target)
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target.host, target.port, address=address, timeout=timeout)
    try:
        conn.request("POST", target.path, body=body, headers={**headers, "Content-Length": str(len(body))})
        response = conn.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return response.status
    finally:
        conn.close()
