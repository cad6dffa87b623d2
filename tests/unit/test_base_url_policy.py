from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ideaforge_gateway.adapters.http.public_only import BlockedAddressError, check_url
from ideaforge_gateway.domain.errors import InvalidRequestError
from ideaforge_gateway.domain.policies.base_url import (
    check_user_base_url,
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
