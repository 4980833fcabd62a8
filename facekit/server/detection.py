"""One detection as every route runs it: input to bytes (safely), the real detector, crops in storage.

The detector never sees a URL: the server fetches it here with its own checked fetcher, so a
request cannot make ``facekit.detect`` reach an address the server refuses.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from .. import detect, models
from ..errors import InvalidInputError, UnsupportedMediaError
from ..limits import Limits
from ..media import MediaKind, Video, kind_of, locate
from ..result import Result
from .fetch import fetch_into
from .settings import Settings
from .storage import Storage
from .tasks import Task

__all__ = ["NUM_FRAMES", "Detected", "Detection", "check_budget", "check_kind", "file_url"]

NUM_FRAMES = 5
"""Frames sampled from a video when the request does not say (Akool's default; Magic Hour and CRUN tasks)."""


@dataclass(frozen=True)
class Detected:
    """A Result and the asset folder holding its crops (None without crops)."""

    result: Result
    folder: str | None


class Detection:
    """Runs detections with at most ``settings.workers`` at once; videos get at most ``workers - 1`` of
    those slots (when there are two or more), so a slow video never holds every slot a picture could use."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings, self.storage = settings, storage
        self.model = models.resolve(settings.model)  # fetched and verified once, at startup
        self._slots = threading.BoundedSemaphore(settings.workers)
        self._video_slots = threading.BoundedSemaphore(max(1, settings.workers - 1))
        self.parsing = threading.Lock()
        """Held while a request body is parsed and decoded to a file: one at a time, so memory stays bounded."""

    def load(
        self, scratch: IO[bytes], *, url: str | None = None, asset: str | None = None, expect: str | None = None
    ) -> Path:
        """The file of the media at a URL (a checked fetch, streamed into ``scratch``, a named temporary file) or
        of an uploaded asset; InvalidInputError unless it is an image or a video (of kind ``expect`` when given)."""
        if url is not None:
            fetch_into(
                url,
                scratch,
                self.settings.limits,
                allow_private=self.settings.allow_private_urls,
                max_redirects=self.settings.max_redirects,
            )
            scratch.flush()
            media = Path(scratch.name)
        elif asset is not None:
            found = self.storage.existing(asset)
            if found is None:
                raise InvalidInputError(f"no uploaded file at {asset[:200]!r}")
            media = found
        else:
            raise InvalidInputError("no input given")
        check_kind(media, self.settings.limits, expect)
        return media

    def run(
        self,
        media: Path,
        *,
        confidence: float = 0.5,
        num_frames: int = NUM_FRAMES,
        single_face: bool = False,
        crops: bool = False,
        folder: str | None = None,
    ) -> Detected:
        """Detect faces in ``media``; with ``crops`` they are written under a new (or the named) asset folder."""
        relative = directory = None
        if crops:
            relative, directory = self.storage.new_folder(folder)
        video = check_kind(media, self.settings.limits) is MediaKind.VIDEO
        with self._video_slots if video else contextlib.nullcontext(), self._slots:
            result = detect(
                media,
                confidence=confidence,
                num_frames=num_frames,
                single_face=single_face,
                crops=crops,
                crops_dir=directory,
                model=self.model.path,
                limits=self.settings.limits,
            )
        return Detected(result, relative)

    def run_task(self, task: Task) -> dict[str, Any]:
        """A Magic Hour / CRUN task's result: its crop folder and one crop per tracked person."""
        source, expect = task.source, task.options.get("expect")
        with self.storage.scratch() as scratch:
            media = self.load(scratch, url=source.get("url"), asset=source.get("asset"), expect=expect)
            options = task.options
            detected = self.run(media, confidence=options.get("confidence", 0.5), crops=True, folder=task.id)
        return {"folder": detected.folder, "faces": self.person_crops(detected.result), "detect_id": uuid.uuid4().hex}

    def person_crops(self, result: Result) -> list[str]:
        """Asset paths of one crop per person: each track's best-scoring face, in order of appearance."""
        faces = result.to_frame()
        if faces.empty or "crop_url" not in faces:
            return []
        faces = faces[faces["crop_url"].notna()]
        person = faces["track_id"].astype("float64").fillna(-1 - faces.index.to_series().astype("float64"))
        best = faces.assign(person=person).sort_values("score", ascending=False).drop_duplicates("person")
        return [self.asset_of(url) for url in best.sort_values(["frame", "face"])["crop_url"]]

    def asset_of(self, crop_url: str) -> str:
        """The asset path of a crop written by :meth:`run` (its ``file://`` URI)."""
        return self.storage.relative(Path(unquote(urlsplit(crop_url).path)))


def check_kind(media: Path, limits: Limits, expect: str | None = None) -> MediaKind:
    """The kind of a media file by facekit's one rule (content; an animated GIF, WebP or PNG is a video);
    InvalidInputError for anything else (SVG, HTML, text...), for a video where ``expect`` is "image" and
    for a still picture where it is "video"."""
    kind = kind_of(locate(media, limits), limits)
    if kind is MediaKind.UNKNOWN:
        raise UnsupportedMediaError(
            "unsupported media: not a JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC/AVIF image or a video"
        )
    if expect == "image" and kind is MediaKind.VIDEO:
        raise InvalidInputError(
            "a video (or an animated picture) was given where an image is expected: use the video route"
        )
    if expect == "video" and kind is MediaKind.IMAGE:
        raise InvalidInputError(
            "a still picture was given where a video or an animated GIF is expected: use the image route"
        )
    return kind


def check_budget(media: Path, limits: Limits, num_frames: int = NUM_FRAMES) -> MediaKind:
    """:func:`check_kind`, and for a video LimitExceededError when sampling ``num_frames`` of it needs more decoded
    frames than ``limits.max_decoded_frames`` (from its keyframe index, nothing decoded): so an uploaded video can be
    refused when its task is created rather than when the task runs."""
    kind = check_kind(media, limits)
    if kind is MediaKind.VIDEO:
        video = Video(locate(media, limits), limits)
        video.check_budget(video.sample_indices(num_frames))
    return kind


def file_url(base: str, asset: str) -> str:
    """The absolute URL the server serves an asset path at."""
    return f"{base.rstrip('/')}/files/{asset}"
