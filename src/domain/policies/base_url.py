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


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public_address(address.ipv4_mapped)
    return address.is_global and not address.is_multicast
