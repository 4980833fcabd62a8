"""The server's URL fetcher: public addresses only, every redirect hop re-checked, size and time capped.

Each hop's host is resolved once, every resolved address must be allowed, and the connection is
made to that checked address (TLS still verifies the host name), so a DNS answer that changes
between the check and the connection cannot reach an internal service.
"""

from __future__ import annotations

import io
import ipaddress
import re
import socket
import time
from typing import IO
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3

from ..errors import DownloadError, InvalidInputError, LimitExceededError
from ..limits import Limits
from ..media import SNIFF_BYTES, MediaKind, sniff

__all__ = [
    "URL_PATTERN",
    "URL_REGEX",
    "BlockedAddressError",
    "allowed_address",
    "check_url",
    "fetch",
    "fetch_into",
    "resolve",
]

_REDIRECTS = (301, 302, 303, 307, 308)
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}


class BlockedAddressError(DownloadError):
    """The URL's host resolves to an address the server may not reach."""


_PORT = "(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
URL_REGEX = f"[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9._~%!$&'()*+,;=:-]*@)?[A-Za-z0-9._~-]+(:{_PORT})?([/?#][!-~]*)?"
URL_PATTERN = f"^{URL_REGEX}$"
"""The URLs the server fetches, as a regular expression that Python, pydantic and JSON Schema read alike, so
``/openapi.json`` states exactly what :func:`check_url` accepts: http(s), a host name or IPv4 address (no IPv6
literals), a port up to 65535, printable ASCII after it."""
_URL = re.compile(URL_PATTERN)


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute http(s) URL matching :data:`URL_PATTERN`; InvalidInputError otherwise."""
    if not _URL.match(url):
        raise InvalidInputError("Invalid URL format")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInputError("Invalid URL format") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError("Invalid URL format")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def allowed_address(address: str, allow_private: bool) -> bool:
    """Whether a resolved address may be fetched: global unicast only, unless private ones are allowed
    (cloud metadata addresses never are)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip in _METADATA or ip.is_multicast or ip.is_unspecified:
        return False
    return allow_private or ip.is_global


def resolve(host: str, port: int, allow_private: bool) -> str:
    """One address of ``host`` to connect to, after checking every address it resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DownloadError(f"cannot resolve {host!r}") from exc
    addresses = [str(info[4][0]) for info in infos]
    refused = [a for a in addresses if not allowed_address(a, allow_private)]
    if refused or not addresses:
        raise BlockedAddressError(f"{host!r} resolves to a non-public address ({refused[0] if refused else 'none'})")
    return addresses[0]


def fetch(url: str, limits: Limits, *, allow_private: bool = False, max_redirects: int = 5) -> bytes:
    """The body of ``url`` (image or video bytes) in memory; see :func:`fetch_into`."""
    body = io.BytesIO()
    fetch_into(url, body, limits, allow_private=allow_private, max_redirects=max_redirects)
    return body.getvalue()


def fetch_into(
    url: str, target: IO[bytes], limits: Limits, *, allow_private: bool = False, max_redirects: int = 5
) -> int:
    """Write the body of ``url`` (image or video bytes) into ``target`` as it arrives, following at most
    ``max_redirects`` checked redirects; the number of bytes written."""
    deadline = time.monotonic() + limits.url_total_timeout
    for _ in range(max_redirects + 1):
        response = _request(url, limits, allow_private)
        try:
            location = response.headers.get("Location")
            if response.status in _REDIRECTS and location:
                url = urljoin(url, location)
                continue
            if response.status >= 400:
                raise DownloadError(f"the URL answered HTTP {response.status}")
            return _read(response, target, limits, deadline)
        finally:
            response.release_conn()
    raise DownloadError(f"more than {max_redirects} redirects")


def _request(url: str, limits: Limits, allow_private: bool) -> urllib3.BaseHTTPResponse:
    """GET one hop of ``url`` on a connection to its checked address, without following redirects."""
    scheme, host, port = check_url(url)
    address = resolve(host, port, allow_private)
    timeout = urllib3.Timeout(connect=limits.url_timeout, read=limits.url_timeout)
    if scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": "facekit-server", "Accept": "image/*,video/*"}
    try:
        return pool.urlopen(
            "GET", target, headers=headers, redirect=False, preload_content=False, retries=False, assert_same_host=False
        )
    except urllib3.exceptions.HTTPError as exc:
        raise DownloadError(f"cannot download: {type(exc).__name__}") from exc


def _read(response: urllib3.BaseHTTPResponse, target: IO[bytes], limits: Limits, deadline: float) -> int:
    """Copy the body into ``target``; refused when over ``limits.max_bytes``, slower than the deadline, or not
    image/video bytes (by its first chunk)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise LimitExceededError(f"the URL's body is {declared} bytes, over the limit of {limits.max_bytes}")
    head, size = b"", 0
    try:
        while chunk := response.read1(1 << 16, decode_content=True):
            size += len(chunk)
            if size > limits.max_bytes:
                raise LimitExceededError(f"the URL's body is over the limit of {limits.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise DownloadError(f"the download took longer than {limits.url_total_timeout} s")
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            target.write(chunk)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise DownloadError(f"cannot download: {type(exc).__name__}") from exc
    if sniff(head) is MediaKind.UNKNOWN:
        raise DownloadError("the URL's content is not an image or a video")
    return size
