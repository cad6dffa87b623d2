"""What an enterprise network needs of the HTTP client: whom to trust, and which proxy to use.

Trust (`build_ssl_context`, made once per client): the operating system's trust store (the
`truststore` library), Mozilla's bundle (certifi, so a slim container without CA certificates
still works), and every bundle or directory the operator names through the usual variables
(`SSL_CERT_FILE`, `SSL_CERT_DIR`, `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`) or the product setting
`IDEAFORGE_CA_BUNDLE`. Certificates are only ever added, never replaced.

Proxy (`ProxyRules`): `IDEAFORGE_HTTPS_PROXY` / `IDEAFORGE_HTTP_PROXY` / `IDEAFORGE_NO_PROXY`
when set, else the standard `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (either case, lower case
first, as curl and urllib read them). A proxy URL may carry credentials: it is only shown
redacted (`redact`).
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

import certifi
import truststore
from yarl import URL

from ideaforge_gateway.domain.errors import ConfigurationError

CA_FILE_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
CA_DIR_VARIABLE = "SSL_CERT_DIR"


def build_ssl_context(extra_ca_bundle: str | None = None, environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """A verifying client context: system store + certifi + the operator's bundles.

    Raises `ConfigurationError` naming the variable whose file or directory cannot be read, so a
    typo in a CA setting stops start-up instead of failing every request later."""
    env = os.environ if environ is None else environ
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=certifi.where())
    named: list[tuple[str, str]] = [(name, env[name]) for name in CA_FILE_VARIABLES if env.get(name)]
    if extra_ca_bundle:
        named.append(("IDEAFORGE_CA_BUNDLE", extra_ca_bundle))
    read = {os.path.realpath(certifi.where())}
    for name, path in named:
        # Debian-like hosts often name one system bundle in all three variables: each file is
        # read once (about 0.06 s a read, on every start).
        if (real := os.path.realpath(path)) not in read:
            read.add(real)
            _load(context, name, cafile=path)
    for directory in filter(None, env.get(CA_DIR_VARIABLE, "").split(os.pathsep)):
        _load(context, CA_DIR_VARIABLE, capath=directory)
    return context


def _load(context: ssl.SSLContext, name: str, *, cafile: str | None = None, capath: str | None = None) -> None:
    try:
        context.load_verify_locations(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigurationError(f"{name}={cafile or capath} cannot be used as CA certificates: {reason}") from None


def redact(proxy: str) -> str:
    """The proxy URL without its user and password, for logs and messages."""
    url = URL(proxy)
    return str(url.with_user(None)) if url.user or url.password else proxy


@dataclass(frozen=True, slots=True)
class ProxyRules:
    """Which proxy a URL goes through. `proxies` maps a scheme ("http", "https") to a proxy URL;
    `no_proxy` is a NO_PROXY value (comma-separated host suffixes, `*` for all)."""

    proxies: Mapping[str, str]
    no_proxy: str = ""

    @classmethod
    def from_settings(
        cls,
        https_proxy: str | None = None,
        http_proxy: str | None = None,
        no_proxy: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ProxyRules:
        """The product settings when any is set (they replace the environment's entirely, so an
        operator can route the gateway differently from the rest of the host); else the standard
        variables, read as urllib reads them."""
        if https_proxy or http_proxy or no_proxy:
            chosen = {"https": https_proxy, "http": http_proxy}
            return cls({scheme: url for scheme, url in chosen.items() if url}, no_proxy or "")
        env = os.environ if environ is None else environ

        def variable(name: str) -> str:
            return env.get(name.lower()) or env.get(name.upper()) or ""

        found = {scheme: variable(f"{scheme}_proxy") for scheme in ("https", "http")}
        return cls({scheme: url for scheme, url in found.items() if url}, variable("no_proxy"))

    def proxy_for(self, url: URL) -> str | None:
        """The proxy URL for `url`, or None to connect directly."""
        proxy = self.proxies.get(url.scheme)
        if proxy is None or not url.host:
            return None
        # urllib's own NO_PROXY matching (suffixes, ports, `*`), so the gateway agrees with it;
        # present in every CPython, missing from typeshed.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if self.no_proxy and bypass(url.host, {"no": self.no_proxy}):
            return None
        return proxy

    def describe(self) -> str:
        """The rules with every credential removed."""
        shown = ", ".join(f"{scheme}={redact(url)}" for scheme, url in sorted(self.proxies.items()))
        return f"proxies: {shown or 'none'}; no_proxy: {self.no_proxy or 'none'}"
