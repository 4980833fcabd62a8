"""What the three hosted clients share besides HTTP: their settings, how a source is sent
(public URL or uploaded bytes), and the crop-only Result that Magic Hour and CRUN answers become."""

from __future__ import annotations

import io
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

import numpy as np
import requests
from PIL import Image

from ..errors import InvalidInputError
from ..limits import Limits
from ..media import SNIFF_BYTES, MediaKind, kind_of, locate, picture_from_pixels, sniff_format
from ..media.sources import SourceLike
from ..result import Result
from ..table import BOX_COLUMNS, CROP_COLUMNS, LANDMARK_COLUMNS
from .http import Deadline, ErrorCodes, Http

__all__ = ["HostedClient", "MediaType", "Upload", "crop_result", "media_of_url", "public_url"]

MediaType = Literal["image", "video"]

_VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".gif"}


@dataclass(frozen=True)
class Upload:
    """A local source read into memory, with what a service needs to name it."""

    description: str
    data: bytes
    extension: str  # without the dot: "jpg", "png", "mp4", ...
    media: MediaType


class HostedClient(ABC):
    """A hosted face-detection API: base URL, API key (argument or environment), time limits.

    ``timeout`` bounds each request, ``max_wait`` the whole ``detect`` call (retries and polling
    included), ``retries`` the retries of one request on 429/5xx, ``poll_interval`` the first
    wait between two polls of a task. Pass a ``requests.Session`` to reuse connections or add
    proxies. Subclasses name the service, its default URL, its key variable and its error codes.
    """

    service: ClassVar[str]
    default_base_url: ClassVar[str]
    api_key_env: ClassVar[str]
    codes: ClassVar[ErrorCodes] = {}

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        poll_interval: float = 1.0,
        max_wait: float = 300.0,
        retries: int = 3,
        session: requests.Session | None = None,
        limits: Limits | None = None,
    ) -> None:
        for name, value in (("timeout", timeout), ("max_wait", max_wait), ("poll_interval", poll_interval)):
            if not value > 0:
                raise InvalidInputError(f"{name} must be a positive number of seconds, got {value!r}")
        if retries < 0:
            raise InvalidInputError(f"retries must be 0 or more, got {retries!r}")
        key = api_key if api_key is not None else os.environ.get(self.api_key_env)
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.poll_interval = float(poll_interval)
        self.max_wait = float(max_wait)
        self.limits = limits or Limits.from_env()
        self._http = Http(
            service=self.service,
            base_url=self.base_url,
            headers=self.auth_headers(key) if key else {},
            timeout=float(timeout),
            retries=int(retries),
            session=session or requests.Session(),
            codes=self.codes,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"  # never the key

    @staticmethod
    def auth_headers(api_key: str) -> dict[str, str]:
        """The headers that carry the API key (CRUN and Akool read ``x-api-key``)."""
        return {"x-api-key": api_key}

    def deadline(self) -> Deadline:
        """A fresh ``max_wait`` budget for one ``detect`` call."""
        return Deadline(self.max_wait)

    @abstractmethod
    def detect(self, source: SourceLike) -> Result:
        """Detect faces in ``source`` with the hosted service (each service adds its own keyword
        options); a :class:`facekit.Result`."""

    def read_upload(self, source: SourceLike) -> Upload:
        """A local source (path, bytes, base64, array, PIL image) as bytes named by their content
        (facekit's one sniffing rule: :func:`facekit.media.kind_of`, :func:`facekit.media.sniff_format`)."""
        found = locate(source, self.limits)
        if found.pixels is not None:
            pixels = picture_from_pixels(found.pixels, self.limits).pixels  # checked shape, dtype, size
            return Upload(found.description, _png(pixels), "png", "image")
        kind = kind_of(found, self.limits)
        _, extension = sniff_format(found.head(SNIFF_BYTES))
        if kind is MediaKind.UNKNOWN or extension is None:
            raise InvalidInputError(f"{found.description} is neither an image nor a video this client can send")
        return Upload(found.description, found.read(), extension, "video" if kind is MediaKind.VIDEO else "image")


def public_url(source: SourceLike) -> str | None:
    """``source`` itself when it is an http(s) URL a service can fetch; otherwise None."""
    if not isinstance(source, str):
        return None
    text = source.strip()
    parsed = urlparse(text)
    return text if parsed.scheme in ("http", "https") and parsed.netloc else None


def media_of_url(url: str) -> MediaType:
    """A guess from the URL's path suffix, for services that need to be told (no download)."""
    suffix = os.path.splitext(urlparse(url).path)[1].lower()
    return "video" if suffix in _VIDEO_SUFFIXES else "image"


def crop_result(urls: Sequence[str], *, source: str, media: str, meta: dict[str, Any]) -> Result:
    """A Result of face crops only, one row per crop URL in frame 0, with no box, landmarks or score.

    Magic Hour and CRUN answer with face pictures, not positions: the rows say how many faces
    there are and where their crops are, and ``compare`` refuses them for lack of boxes.
    """
    count = len(urls)
    nothing = np.full(count, np.nan)
    candidates: dict[str, Any] = {
        "frame": np.zeros(count, np.int64),
        "time": nothing,
        "score": nothing,
        **{column: nothing for column in (*BOX_COLUMNS, *LANDMARK_COLUMNS, *CROP_COLUMNS[1:])},
        "crop_url": np.array(list(urls), dtype=object),
    }
    frames = {"frame": np.zeros(1, np.int64), "time": np.full(1, np.nan)}
    return Result(candidates, frames, {"source": source, "media": media, **meta}, confidence=0.0)


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
