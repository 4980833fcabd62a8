"""Any source a user may pass (path, URL, base64, data URI, bytes, array, PIL image) to bytes or pixels.

Every branch enforces :class:`~facekit.limits.Limits` before it holds more than a limit's worth
of data, and fails with a typed :mod:`facekit.errors` exception that names the source.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Union
from urllib.parse import urlparse

import numpy as np
import requests
import urllib3
from PIL import Image

from ..errors import DownloadError, InvalidInputError, LimitExceededError
from ..limits import Limits

SourceLike = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, Image.Image]

_BASE64 = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")
_DATA_URI = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(;[^;,]*)*?),(?P<data>.*)$", re.DOTALL)
_SUFFIX = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,4}$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]{1,15}://")
_MEDIA_TYPES = ("image/", "video/")
_OPAQUE_TYPES = ("", "application/octet-stream")


@dataclass(frozen=True)
class Source:
    """A source read into memory: encoded ``data``, or ready ``pixels`` for array and PIL inputs."""

    description: str  # what the user passed, safe to print: a path, a URL, "base64 (N bytes)", ...
    data: bytes | None = None
    pixels: np.ndarray | Image.Image | None = None


def read_source(source: SourceLike, limits: Limits) -> Source:
    """Read ``source`` into a :class:`Source`, enforcing ``limits.max_bytes``."""
    if isinstance(source, Image.Image):
        return Source("PIL image", pixels=source)
    if isinstance(source, np.ndarray):
        return Source("array", pixels=source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _check_size(len(data), limits, "bytes")
        return Source(f"bytes ({len(data)} bytes)", data=data)
    if isinstance(source, os.PathLike):
        return _read_file(Path(source), limits)
    if not isinstance(source, str):
        raise InvalidInputError(
            f"unsupported source type {type(source).__name__}: pass a path, URL, base64 string, "
            "data: URI, bytes, an H x W x 3 uint8 array or a PIL image"
        )
    text = source.strip()
    if not text:
        raise InvalidInputError("the source is an empty string")
    lowered = text[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return Source(text, data=fetch_url(text, limits))
    if lowered.startswith("data:"):
        return Source("data URI", data=_decode_data_uri(text, limits))
    if _SCHEME.match(text) and not (len(text) < 4096 and Path(text).is_file()):
        raise InvalidInputError(f"unsupported URL scheme in {text[:80]!r}: only http and https are fetched")
    if _looks_like_path(text):
        return _read_file(Path(text).expanduser(), limits)
    if _looks_like_base64(text):
        return Source(f"base64 ({len(text)} chars)", data=_decode_base64(text, limits))
    raise InvalidInputError(
        f"{text[:80]!r} is neither an existing file, an http(s) URL, a data: URI nor base64"
    )


def _check_size(size: int, limits: Limits, what: str) -> None:
    if size > limits.max_bytes:
        raise LimitExceededError(f"{what} is {size} bytes, over the limit of {limits.max_bytes} (Limits.max_bytes)")


def _read_file(path: Path, limits: Limits) -> Source:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {path}") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if path.is_dir():
        raise InvalidInputError(f"{path} is a folder, not a file")
    _check_size(size, limits, str(path))
    try:
        return Source(str(path), data=path.read_bytes())
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _looks_like_path(text: str) -> bool:
    """An existing file, or a short string with a folder separator or a file suffix.

    Encoded images are far longer than 255 characters, so short strings are read as paths and a
    missing one gets a "no such file" error rather than a base64 one.
    """
    if len(text) < 4096 and Path(text).expanduser().is_file():
        return True
    return len(text) < 256 and ("/" in text or "\\" in text or _SUFFIX.search(text) is not None)


def _looks_like_base64(text: str) -> bool:
    return len(text) >= 32 and _BASE64.match(text[:4096]) is not None


def _decode_base64(text: str, limits: Limits) -> bytes:
    _check_size(len(text) * 3 // 4, limits, "base64 payload")
    compact = re.sub(r"\s+", "", text)
    if "-" in compact or "_" in compact:
        compact = compact.replace("-", "+").replace("_", "/")
    compact += "=" * (-len(compact) % 4)
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(f"invalid base64: {exc}") from exc
    if not data:
        raise InvalidInputError("the base64 payload is empty")
    return data


def _decode_data_uri(text: str, limits: Limits) -> bytes:
    match = _DATA_URI.match(text)
    if match is None:
        raise InvalidInputError("malformed data: URI (expected data:<type>;base64,<data>)")
    media_type = match["type"].strip().lower()
    if not media_type.startswith(_MEDIA_TYPES) and media_type not in _OPAQUE_TYPES:
        raise InvalidInputError(f"data: URI has media type {media_type!r}; expected image/* or video/*")
    if ";base64" not in match["params"].lower():
        raise InvalidInputError("data: URI is not base64-encoded (missing ';base64')")
    return _decode_base64(match["data"], limits)


def fetch_url(url: str, limits: Limits, *, session: requests.Session | None = None) -> bytes:
    """GET ``url`` with connect/read timeouts, an overall deadline and a size cap.

    Only http(s) is fetched. The size cap is checked against ``Content-Length`` first and then
    while streaming, so an oversized or endless body is cut off without being held in memory.
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidInputError(f"invalid URL: {url[:200]!r}")
    deadline = time.monotonic() + limits.url_total_timeout
    getter = session.get if session is not None else requests.get
    try:
        with getter(url, stream=True, timeout=(limits.url_timeout, limits.url_timeout)) as response:
            if response.status_code >= 400:
                raise DownloadError(f"{url} answered HTTP {response.status_code}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit():
                _check_size(int(declared), limits, url)
            data = _read_body(response.raw, url, limits, deadline)
    except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
        raise DownloadError(f"{url} timed out after {limits.url_timeout} s (Limits.url_timeout)") from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise DownloadError(f"cannot download {url}: {type(exc).__name__}") from exc
    if not data:
        raise DownloadError(f"{url} answered with an empty body")
    return data


def _read_body(raw: urllib3.BaseHTTPResponse, url: str, limits: Limits, deadline: float) -> bytes:
    """The body, read as it arrives, so the size cap and the overall deadline also hold for a
    server that trickles bytes (a full-chunk read would wait for 64 KiB however long it takes)."""
    read = raw.read1 if hasattr(raw, "read1") else raw.read  # read1: urllib3 >= 2
    chunks, size = [], 0
    while chunk := read(1 << 16, decode_content=True):
        size += len(chunk)
        _check_size(size, limits, url)
        if time.monotonic() > deadline:
            raise DownloadError(f"{url} took longer than {limits.url_total_timeout} s (Limits.url_total_timeout)")
        chunks.append(chunk)
    return b"".join(chunks)
