"""Which base URLs a harvester may be pointed at.

A source URL is typed by an administrator, but the harvester then fetches it from inside the
library's network: an ``http://127.0.0.1:…`` or ``http://169.254.169.254/`` URL would make it
probe internal services. Only http(s) is accepted, and every address the host name resolves to
must be public unless it falls in a network the configuration allows explicitly.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from oai.harvest.errors import UnsafeURLError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> list[IPNetwork]:
    """Networks from strings such as ``"127.0.0.0/8"``; raises ``ValueError`` on a bad one."""
    return [ipaddress.ip_network(value.strip(), strict=False) for value in values]


def check_base_url(url: str, allowed_networks: Iterable[str] = ()) -> str:
    """Return ``url`` normalised (stripped) or raise :class:`UnsafeURLError` with the reason."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"{url!r}: only http:// and https:// URLs can be harvested")
    if not parts.hostname:
        raise UnsafeURLError(f"{url!r}: the URL has no host name")
    if parts.username or parts.password:
        raise UnsafeURLError(f"{url!r}: credentials in the URL are not allowed")
    if parts.fragment:
        raise UnsafeURLError(f"{url!r}: a base URL has no #fragment")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURLError(f"{url!r}: bad port") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURLError(f"{url!r}: host name {parts.hostname!r} not found ({exc})") from None
    allowed = parse_networks(allowed_networks)
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if any(address in network for network in allowed):
            continue
        if not address.is_global or address.is_multicast:
            raise UnsafeURLError(
                f"{url!r}: {parts.hostname} resolves to {address}, a loopback, private or "
                "reserved address; add its network to LIBEXT_HARVEST_ALLOWED_NETWORKS to allow it"
            )
    return url
