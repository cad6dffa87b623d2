"""Which base URLs a user may point a provider at (the operator's own are trusted)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from ideaforge_gateway.domain.errors import InvalidRequestError

_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def check_user_base_url(url: str, *, allow_private: bool) -> str:
    """Return `url` normalised (no trailing slash) or raise `InvalidRequestError` saying why.

    - Must be https; plain http only when private addresses are allowed (development, tests).
    - No user name or password in the URL, no query or fragment.
    - A literal IP address, or a name for the local machine, must be public unless allowed.
      Names are checked again, as resolved, when a connection is made.
    """
    text = url.strip()
    if not text.isascii() or not text.isprintable() or any(c.isspace() for c in text):
        raise InvalidRequestError("base URL must be printable ASCII with no spaces (IDNA-encode names)")
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname or ""
        if host and not _is_ip_literal(host) and host.encode("idna").decode("idna") != host:
            raise ValueError(host)
    except (ValueError, UnicodeError):
        raise InvalidRequestError("base URL is not a valid URL") from None
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes:
        raise InvalidRequestError("base URL must use https")
    if not parts.hostname:
        raise InvalidRequestError("base URL has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidRequestError("base URL must not contain a user name or password")
    if parts.query or parts.fragment:
        raise InvalidRequestError("base URL must not have a query or fragment")
    if not allow_private and not is_public_host(parts.hostname):
        raise InvalidRequestError("base URL must point to a public address")
    del port
    return url.strip().rstrip("/")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_public_host(host: str) -> bool:
    """False for a literal non-global address or a local name; True for other names."""
    if host.lower() in _LOCAL_NAMES or host.lower().endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return not is_numeric_host(host)
    return is_public_address(address)


def is_numeric_host(host: str) -> bool:
    """Dot-separated numbers that are not a canonical address ("127.1", "2130706433", "0x7f.1",
    "0177.0.0.1"): some resolvers read them as addresses, so they are never taken for names (no
    top-level domain is numeric)."""
    labels = host.rstrip(".").split(".")
    return all(_NUMERIC_LABEL.match(label) for label in labels)


_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 2.5.5.1, deprecated but still routed by some stacks
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use, IPv4 at an operator-chosen place


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, as a host or a translator would use them:
    IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), 6to4 (`2002:AABB:CCDD::`),
    NAT64 (`64:ff9b::a.b.c.d`) and Teredo (server and client). Empty for other addresses."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64_WELL_KNOWN or (address in _IPV4_COMPATIBLE and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether `address` is globally reachable and not multicast. An IPv6 address that carries
    an IPv4 address (see `embedded_ipv4`) is public only if what it carries is: `::ffff:127.0.0.1`,
    `::127.0.0.1`, `2002:7f00:1::` and `64:ff9b::7f00:1` all reach 127.0.0.1 somewhere. Local-use
    NAT64 (`64:ff9b:1::/48`), whose IPv4 address may sit anywhere, is never public; Teredo
    (`2001::/32`) is not globally reachable (IANA) whatever it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return False
        carried = embedded_ipv4(address)
        if carried:
            return all(is_public_address(v4) for v4 in carried) and (
                address.ipv4_mapped is not None or address.is_global or address in _NAT64_WELL_KNOWN
            )
    return address.is_global and not address.is_multicast
