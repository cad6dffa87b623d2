from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ideaforge_gateway.adapters.http.public_only import BlockedAddressError, check_url
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.policies.base_url import (
    check_user_base_url,
    embedded_ipv4,
    is_numeric_host,
    is_public_address,
    is_public_host,
)


@given(st.ip_addresses())
def test_literal_addresses_pass_only_when_global(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    try:
        check_user_base_url(f"https://{host}/v1", allow_private=False)
    except InvalidRequestError:
        assert not is_public_address(address)
    else:
        assert is_public_address(address)
        assert not address.is_private and not address.is_loopback and not address.is_link_local


@given(st.ip_addresses())
def test_allow_private_lets_every_address_through(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    assert check_user_base_url(f"http://{host}:8080/", allow_private=True) == f"http://{host}:8080"


def test_mapped_and_metadata_addresses_are_refused() -> None:
    for url in ("https://[::ffff:127.0.0.1]", "https://169.254.169.254", "https://[fd00::1]", "https://0.0.0.0"):
        try:
            check_user_base_url(url, allow_private=False)
        except InvalidRequestError:
            continue
        raise AssertionError(f"{url} was accepted")


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "0", "10.1"])
def test_numeric_hosts_that_are_not_canonical_addresses_are_refused(host: str) -> None:
    assert is_numeric_host(host) and not is_public_host(host)
    with pytest.raises(InvalidRequestError, match="public address"):
        check_user_base_url(f"https://{host}/v1", allow_private=False)
    with pytest.raises(BlockedAddressError, match="not a public address"):
        check_url("https", host)


@pytest.mark.parametrize("host", ["api.openai.com", "1password.com", "123.example", "xn--bcher-kva.example"])
def test_names_with_numbers_are_still_names(host: str) -> None:
    assert not is_numeric_host(host) and is_public_host(host)
    check_url("https", host)  # names pass here: they are checked as they resolve


IPV6_CARRYING_PRIVATE_IPV4 = [
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::127.0.0.1",  # IPv4-compatible (deprecated, still routed by some stacks)
    "::10.0.0.1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (cloud metadata)
    "64:ff9b::7f00:1",  # NAT64 well-known prefix, 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::7f00:1",  # local-use NAT64: never public
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
]


@pytest.mark.parametrize("address", IPV6_CARRYING_PRIVATE_IPV4)
def test_ipv6_forms_are_judged_by_the_ipv4_address_they_carry(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))
    with pytest.raises(InvalidRequestError, match="public address"):
        check_user_base_url(f"https://[{address}]/v1", allow_private=False)
    with pytest.raises(BlockedAddressError, match="not a public address"):
        check_url("https", address)


@pytest.mark.parametrize("address", ["::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808", "::8.8.8.8"])
def test_ipv6_forms_carrying_a_public_ipv4_address_stay_public(address: str) -> None:
    assert embedded_ipv4(ipaddress.IPv6Address(address)) == [ipaddress.IPv4Address("8.8.8.8")]
    assert is_public_address(ipaddress.ip_address(address))


@given(st.ip_addresses(v=4))
def test_every_carrying_form_agrees_with_its_ipv4_address(v4: ipaddress.IPv4Address) -> None:
    n = int(v4)
    forms = [
        ipaddress.IPv6Address((0xFFFF << 32) | n),
        ipaddress.IPv6Address((0x2002 << 112) | (n << 80)),
        ipaddress.IPv6Address((0x0064FF9B << 96) | n),
    ]
    if n > 1:
        forms.append(ipaddress.IPv6Address(n))
    for form in forms:
        assert is_public_address(form) == is_public_address(v4), form
