"""Any source a user may pass (path, URL, base64, data URI, bytes, array, PIL image) to encoded media or pixels.

A file is left where it is (decoders read it as they go); downloads, bytes and base64 payloads
larger than ``spill_bytes`` go to a temporary file, deleted with the :class:`Source`, so a long
video is never held whole in memory. Every branch enforces :class:`~facekit.limits.Limits`
before it holds more than a limit's worth of data, and fails with a typed :mod:`facekit.errors`
exception that names the source.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

import numpy as np
import requests
import urllib3
from PIL import Image

from ..errors import DownloadError, InvalidInputError, LimitExceededError
from ..limits import Limits

__all__ = ["SPILL_BYTES", "Source", "SourceLike", "download", "fetch_url", "locate"]

_BASE64 = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")
_DATA_URI = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(;[^;,]*)*?),(?P<data>.*)$", re.DOTALL)
_SUFFIX = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,4}$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]{1,15}://")
_MEDIA_TYPES = ("image/", "video/")
_OPAQUE_TYPES = ("", "application/octet-stream")


SPILL_BYTES = 16 * 1024 * 1024
"""Encoded media held in memory at most; larger downloads, bytes and base64 payloads go to a temporary file."""


@dataclass(frozen=True)
class Source:
    """A located source: encoded media in memory (``data``) or in a file (``path``), or ready
    ``pixels`` for array and PIL inputs. A temporary file is deleted when its Source is."""

    description: str  # what the user passed, safe to print: a path, a URL, "base64 (N bytes)", ...
    data: bytes | None = None
    pixels: np.ndarray | Image.Image | None = None
    path: Path | None = None
    temporary: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.temporary and self.path is not None:
            weakref.finalize(self, self.path.unlink, missing_ok=True)

    @property
    def encoded(self) -> bool:
        """True for encoded media (bytes or a file), False for pixels."""
        return self.pixels is None

    def open(self) -> IO[bytes]:
        """A fresh binary stream of the encoded media, positioned at its start."""
        if self.path is not None:
            try:
                return open(self.path, "rb")
            except OSError as exc:
                raise InvalidInputError(f"cannot read {self.description}: {exc.strerror or exc}") from exc
        return io.BytesIO(self.data or b"")

    @property
    def size(self) -> int:
        """Bytes of encoded media (0 for pixels)."""
        if self.path is not None:
            return self.path.stat().st_size
        return len(self.data or b"")

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes (what sniffing looks at)."""
        with self.open() as stream:
            return stream.read(size)

    def sha256(self) -> str:
        """Hex sha256 of the encoded media, read in chunks (a file is never held whole)."""
        with self.open() as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()  # type: ignore[arg-type]

    def read(self) -> bytes:
        """The whole encoded media as bytes (for callers that send or hash it)."""
        if self.data is not None:
            return self.data
        with self.open() as stream:
            return stream.read()


SourceLike = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray | Image.Image | Source
"""What facekit accepts as a picture or video: a path, a URL, base64 or a data: URI, bytes, pixels, or a located Source."""


def locate(source: SourceLike, limits: Limits, *, spill_bytes: int = SPILL_BYTES) -> Source:
    """Find ``source``: a file stays a path, pixels stay pixels, anything else larger than
    ``spill_bytes`` is written to a temporary file; ``limits.max_bytes`` enforced throughout."""
    if isinstance(source, Source):
        return source
    if isinstance(source, Image.Image):
        return Source("PIL image", pixels=source)
    if isinstance(source, np.ndarray):
        return Source("array", pixels=source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source).cast("B")
        _check_size(view.nbytes, limits, "bytes")
        return _held(f"bytes ({view.nbytes} bytes)", view, spill_bytes)
    if isinstance(source, os.PathLike):
        return _file(Path(source), limits)
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
        return download(text, limits, spill_bytes=spill_bytes)
    if lowered.startswith("data:"):
        return _held("data URI", _decode_data_uri(text, limits), spill_bytes)
    if _SCHEME.match(text) and not (len(text) < 4096 and Path(text).is_file()):
        raise InvalidInputError(f"unsupported URL scheme in {text[:80]!r}: only http and https are fetched")
    if _looks_like_path(text):
        return _file(Path(text).expanduser(), limits)
    if _looks_like_base64(text):
        return _held(f"base64 ({len(text)} chars)", _decode_base64(text, limits), spill_bytes)
    raise InvalidInputError(f"{text[:80]!r} is neither an existing file, an http(s) URL, a data: URI nor base64")


def _held(description: str, data: bytes | memoryview, spill_bytes: int) -> Source:
    """``data`` in memory, or in a temporary file when larger than ``spill_bytes``."""
    with _Sink(spill_bytes) as sink:
        sink.write(data)
        return sink.source(description)


class _Sink:
    """Encoded media as it arrives: in memory up to ``spill_bytes``, then in a temporary file
    (removed if the writing fails)."""

    def __init__(self, spill_bytes: int) -> None:
        self.spill_bytes = spill_bytes
        self.size = 0
        self.chunks: list[bytes] = []
        self.file: IO[bytes] | None = None
        self.path: Path | None = None

    def write(self, chunk: bytes | memoryview) -> None:
        self.size += len(chunk)
        if self.file is None and self.size > self.spill_bytes:
            fd, name = tempfile.mkstemp(prefix="facekit-media-")
            self.file, self.path = os.fdopen(fd, "wb"), Path(name)
            self.file.writelines(self.chunks)
            self.chunks.clear()
        if self.file is not None:
            self.file.write(chunk)
        else:
            self.chunks.append(bytes(chunk))

    def source(self, description: str) -> Source:
        if self.file is None:
            return Source(description, data=b"".join(self.chunks))
        self.file.close()
        return Source(description, path=self.path, temporary=True)

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None and self.file is not None:
            self.file.close()
            assert self.path is not None
            self.path.unlink(missing_ok=True)


def _check_size(size: int, limits: Limits, what: str) -> None:
    if size > limits.max_bytes:
        raise LimitExceededError(f"{what} is {size} bytes, over the limit of {limits.max_bytes} (Limits.max_bytes)")


def _file(path: Path, limits: Limits) -> Source:
    """A file as a path (not read): checked to exist, be a file and fit ``limits.max_bytes``."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {path}") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if path.is_dir():
        raise InvalidInputError(f"{path} is a folder, not a file")
    _check_size(size, limits, str(path))
    return Source(str(path), path=path)


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
    """The body of ``url`` in memory (see :func:`download`)."""
    return download(url, limits, session=session, spill_bytes=limits.max_bytes).read()


def download(
    url: str, limits: Limits, *, session: requests.Session | None = None, spill_bytes: int = SPILL_BYTES
) -> Source:
    """GET ``url`` with connect/read timeouts, an overall deadline and a size cap.

    Only http(s) is fetched. The size cap is checked against ``Content-Length`` first and then
    while streaming, so an oversized or endless body is cut off; past ``spill_bytes`` the body
    goes on into a temporary file instead of memory.
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
            return _read_body(response.raw, url, limits, deadline, spill_bytes)
    except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
        raise DownloadError(f"{url} timed out after {limits.url_timeout} s (Limits.url_timeout)") from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise DownloadError(f"cannot download {url}: {type(exc).__name__}") from exc


def _read_body(raw: urllib3.BaseHTTPResponse, url: str, limits: Limits, deadline: float, spill_bytes: int) -> Source:
    """The body, read as it arrives, so the size cap and the overall deadline also hold for a
    server that trickles bytes (a full-chunk read would wait for 64 KiB however long it takes);
    in memory up to ``spill_bytes``, then in a temporary file."""
    read = raw.read1 if hasattr(raw, "read1") else raw.read  # read1: urllib3 >= 2
    with _Sink(spill_bytes) as sink:
        while chunk := read(1 << 16, decode_content=True):
            _check_size(sink.size + len(chunk), limits, url)
            if time.monotonic() > deadline:
                raise DownloadError(f"{url} took longer than {limits.url_total_timeout} s (Limits.url_total_timeout)")
            sink.write(chunk)
        if sink.size == 0:
            raise DownloadError(f"{url} answered with an empty body")
        return sink.source(url)
