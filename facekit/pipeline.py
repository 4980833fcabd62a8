"""``facekit.detect``: source -> media -> detector -> Result, for any source a user may pass."""

from __future__ import annotations

import math
import os
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__, models
from .crops import write_crops
from .engine import Detections, Detector
from .errors import InvalidInputError, UnsupportedMediaError
from .frame import BOX_COLUMNS, LANDMARK_COLUMNS
from .limits import Limits
from .media import SNIFF_BYTES, MediaKind, Picture, decode_image, is_animated, picture_from_pixels, read_source, sniff
from .media.sources import SourceLike
from .result import Result
from .schema import six_landmarks

DEFAULT_FLOOR = 0.05
"""Candidates are kept down to this score, so ``Result.filter`` can lower the threshold that far."""


def detect(
    source: SourceLike,
    *,
    confidence: float = 0.5,
    num_frames: int = 5,
    every_frame: bool = False,
    single_face: bool = False,
    crops: bool = False,
    crops_dir: str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
    threads: int | None = None,
    floor: float = DEFAULT_FLOOR,
) -> Result:
    """Detect faces in a picture or video and return a :class:`~facekit.Result`.

    ``source`` is a path, an http(s) URL, a base64 string or ``data:`` URI, bytes, an H x W x 3
    RGB uint8 array or a PIL image; images and videos are told apart by content. Faces scoring
    below ``confidence`` are dropped from the renderings but kept (down to ``floor``) so that
    ``result.filter(confidence=...)`` never needs the model again. ``crops`` writes one JPEG
    per face into ``crops_dir`` (default: a new folder under the facekit cache).
    """
    _check_options(confidence, num_frames, floor)
    limits = limits or Limits.from_env()
    started = time.perf_counter()
    resolved = models.resolve(model)
    detector = Detector.load(resolved.path, threads)
    loaded = read_source(source, limits)
    read_done = time.perf_counter()
    picture = _picture(loaded.pixels, loaded.data, limits)
    decoded = time.perf_counter()
    floor = min(floor, confidence)
    detections = detector.detect(picture.pixels, floor)
    detected = time.perf_counter()

    candidates = face_table(detections, frame=0, time=math.nan)
    if crops:
        chosen = candidates[candidates["score"] >= confidence]
        directory = Path(crops_dir) if crops_dir is not None else models.home() / "crops" / uuid.uuid4().hex
        stem = Path(loaded.description).stem if loaded.data is not None else "face"
        candidates = candidates.join(write_crops(picture.rgb(), chosen, directory, stem))
    frames = pd.DataFrame({"frame": [0], "time": [math.nan]})
    meta = {
        "source": loaded.description,
        "media": "image",
        "format": picture.format,
        "width": picture.width,
        "height": picture.height,
        "fps": None,
        "frame_count": 1,
        "model": resolved.name,
        "model_sha256": resolved.sha256,
        "model_source": resolved.source,
        "providers": detector.providers,
        "threads": detector.threads,
        "facekit": __version__,
        "timings_ms": {
            "read": round((read_done - started) * 1e3, 3),
            "decode": round((decoded - read_done) * 1e3, 3),
            "detect": round((detected - decoded) * 1e3, 3),
            "total": round((time.perf_counter() - started) * 1e3, 3),
        },
    }
    return Result(
        candidates, frames, meta, confidence=confidence, single_face=single_face, floor=floor, picture=picture.pixels
    )


def _check_options(confidence: float, num_frames: int, floor: float) -> None:
    if not isinstance(confidence, (int, float)) or not 0.0 <= confidence <= 1.0:
        raise InvalidInputError(f"confidence must be a number between 0 and 1, got {confidence!r}")
    if not isinstance(num_frames, int) or isinstance(num_frames, bool) or not 1 <= num_frames <= 100:
        raise InvalidInputError(f"num_frames must be an integer from 1 to 100, got {num_frames!r}")
    if not 0.0 < floor <= 1.0:
        raise InvalidInputError(f"floor must be in (0, 1], got {floor!r}")


def _picture(pixels, data: bytes | None, limits: Limits) -> Picture:
    """Decode a source into one upright picture; videos are refused until video support lands."""
    if pixels is not None:
        return picture_from_pixels(pixels, limits)
    kind = sniff(data[:SNIFF_BYTES])
    if kind is MediaKind.VIDEO or (kind is MediaKind.IMAGE and is_animated(data, limits)):
        raise UnsupportedMediaError("this is a video; video support is not built yet in this version of facekit")
    return decode_image(data, limits)


def face_table(detections: Detections, *, frame: int, time: float) -> pd.DataFrame:
    """Detections of one frame as rows of the canonical face table (best score first)."""
    boxes = detections.boxes.astype(np.float64)
    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
    points = six_landmarks(detections.keypoints.astype(np.float64)).reshape(len(detections), -1)
    table = pd.DataFrame(np.hstack([xywh, points]), columns=BOX_COLUMNS + LANDMARK_COLUMNS)
    table.insert(0, "score", detections.scores.astype(np.float64))
    table.insert(0, "time", time)
    table.insert(0, "frame", frame)
    return table
