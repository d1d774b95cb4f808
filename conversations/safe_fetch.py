"""Downloading a file from a URL that a webhook gave us, without becoming a proxy.

Channel payloads (Instagram, WhatsApp, Twilio MMS) carry media URLs we download
and then show to agents. Fetched blindly, such a URL reads our own network
(http://127.0.0.1:..., cloud metadata at 169.254.169.254) back to whoever can
post a webhook. So only named hosts are fetched, over HTTPS, and only when
every address the name resolves to is public; redirects are followed by hand
and each hop is checked again.
"""

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

MAX_REDIRECTS = 3
REDIRECT_STATUSES = {301, 302, 303, 307, 308}


class FetchError(Exception):
    pass


class FetchRefused(FetchError):
    """The URL is not one we may fetch (host, scheme or address)."""


class FetchFailed(FetchError):
    """The URL was allowed but the download did not succeed."""


def host_allowed(host: str, allowed_hosts) -> bool:
    """True when `host` is one of the suffixes or a subdomain of one ("cdn.fbsbx.com" for "fbsbx.com")."""
    host = host.lower().rstrip(".")
    return any(host == suffix or host.endswith("." + suffix) for suffix in (s.lower() for s in allowed_hosts))


def public_address(host: str, port: int) -> str:
    """Resolve `host` and return an address to connect to; refuse if any address is not public.

    Every answer is checked, not just the first, so a name that resolves to one
    public and one private address cannot win by round-robin.
    """
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchFailed(f"The host {host} could not be resolved.") from None
    addresses = [answer[4][0] for answer in answers]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if getattr(ip, "ipv4_mapped", None):
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast or ip.is_reserved:
            raise FetchRefused(f"The host {host} resolves to a non-public address.")
    if not addresses:
        raise FetchFailed(f"The host {host} could not be resolved.")
    return addresses[0]


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to the address we checked instead of resolving the name again.

    Resolving twice would let a DNS answer with a short TTL pass the check with
    a public address and then hand requests a private one (DNS rebinding). TLS
    still verifies the certificate and sends SNI for the real host name.
    """

    def __init__(self, hostname: str, address: str):
        self.hostname = hostname
        self.address = address
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params["host"] = self.address
        pool_kwargs["server_hostname"] = self.hostname
        pool_kwargs["assert_hostname"] = self.hostname
        return host_params, pool_kwargs

    def add_headers(self, request, **kwargs):
        # Without it http.client would send the address as Host and the CDN would not know the site.
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.hostname if parts.port in (None, 443) else f"{parts.hostname}:{parts.port}"


def _check(url: str, allowed_hosts, trusted_local_hosts):
    """Return (session to use, host) for `url`, or raise FetchRefused."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchRefused("The address has an invalid port.") from None
    if parts.scheme not in ("http", "https") or not host:
        raise FetchRefused("Not a web address.")
    if (host, port) in trusted_local_hosts:
        # Our own sandbox, which runs on this machine: plain HTTP and a local address are expected.
        return requests.Session(), host
    if parts.scheme != "https":
        raise FetchRefused("Only HTTPS addresses are fetched.")
    if not host_allowed(host, allowed_hosts):
        raise FetchRefused(f"The host {host} is not an allowed media host.")
    session = requests.Session()
    session.mount("https://", PinnedAddressAdapter(host, public_address(host, port)))
    return session, host


def fetch(
    url: str,
    *,
    allowed_hosts,
    max_bytes: int,
    timeout: float,
    auth=None,
    trusted_local_hosts=(),
) -> tuple[bytes, str]:
    """Download `url` and return (content, Content-Type without parameters).

    `allowed_hosts` are host suffixes; `trusted_local_hosts` are exact
    (host, port) pairs fetched without the HTTPS and public-address checks
    (the sandbox). `timeout` bounds connecting and each read; the whole
    download may take at most four times that. `auth` is sent to the first
    host only, never to a host a redirect points at.
    Raises FetchRefused or FetchFailed.
    """
    deadline = time.monotonic() + 4 * timeout
    first_host = None
    for _hop in range(MAX_REDIRECTS + 1):
        session, host = _check(url, allowed_hosts, trusted_local_hosts)
        first_host = first_host or host
        try:
            with (
                session,
                session.get(
                    url,
                    auth=auth if host == first_host else None,
                    timeout=(timeout, timeout),
                    stream=True,
                    allow_redirects=False,
                ) as response,
            ):
                if response.status_code in REDIRECT_STATUSES and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                response.raise_for_status()
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchFailed(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
                chunks, size = [], 0
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchFailed(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
                    if time.monotonic() > deadline:
                        raise FetchFailed("The download took too long.")
                    chunks.append(chunk)
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
                return b"".join(chunks), content_type
        except requests.RequestException as error:
            raise FetchFailed(f"Download failed ({type(error).__name__}).") from None
    raise FetchFailed(f"More than {MAX_REDIRECTS} redirects.")
