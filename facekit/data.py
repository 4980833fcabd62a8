"""Sample pictures, like ``skimage.data`` (the three that ship in the scrfd 0.3.0 sdist), their
ground truth, and a generated video panning across one of them, whose true faces are known.

The pictures are fetched together with the detector (``facekit models fetch``) and verified by
sha256. The registry (``facekit/samples.json``: name, file, origin, sha256, licence and the true
face boxes with where they come from) ships inside the package, so :func:`truth` works wherever
facekit is installed; the repository's ``data/`` folder holds the same truth written in every
format :func:`facekit.read_truth` reads, so each reader is exercised on real files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import models
from .limits import Limits
from .media import decode_image
from .synthetic import ShotVideo, shot_video  # noqa: F401 - the four-shot video with true tracks

__all__ = [
    "PAN_IGNORE_BELOW",
    "PAN_WINDOW",
    "PanVideo",
    "akool_examples",
    "gauss",
    "newton",
    "pan_truth",
    "pan_video",
    "pan_windows",
    "path",
    "registry",
    "solvay",
    "truth",
]


@cache
def registry() -> dict[str, dict[str, Any]]:
    """The sample registry: name -> file (in the cache), origin, sha256, licence, truth, truth_origin."""
    return json.loads(resources.files(__package__).joinpath("samples.json").read_text(encoding="utf-8"))


def path(name: str) -> Path:
    """Local path of sample ``name`` ("solvay", "newton" or "gauss"), fetching it if needed."""
    samples = registry()
    if name not in samples:
        raise KeyError(f"no sample {name!r}; samples: {', '.join(samples)}")
    target = models.home() / samples[name]["file"]
    if not target.is_file():
        models.fetch()
    return target


_SOLVAY_WIDTH = 3000  # pixels: the pan's travel is known without decoding the picture


def _load(name: str) -> np.ndarray:
    return decode_image(path(name).read_bytes(), Limits()).rgb()


def solvay() -> np.ndarray:
    """The 1927 Solvay conference photograph (3000 x 2171, 29 faces), RGB."""
    return _load("solvay")


def newton() -> np.ndarray:
    """A portrait of Isaac Newton (768 x 432), RGB."""
    return _load("newton")


def gauss() -> np.ndarray:
    """A portrait of Carl Friedrich Gauss (1024 x 1305), RGB."""
    return _load("gauss")


@dataclass(frozen=True)
class PanVideo:
    """A generated video: its ``path``, and per frame the ``windows`` [x, y, w, h] of the Solvay
    picture it shows, so the true position of every face in every frame is known."""

    path: Path
    windows: np.ndarray  # (frames, 4) float, in Solvay pixels
    size: tuple[int, int]  # (width, height) of the video

    def to_video(self, boxes: np.ndarray, frame: int) -> np.ndarray:
        """(N, 4) [x, y, w, h] boxes in Solvay pixels to their place in ``frame`` of the video."""
        x, y, w, _ = self.windows[frame]
        scale = self.size[0] / w
        return np.column_stack([(boxes[:, 0] - x) * scale, (boxes[:, 1] - y) * scale, boxes[:, 2:] * scale])


PAN_WINDOW = (1280.0, 720.0, 650.0)
"""The pan camera's window on the Solvay picture: width, height, top (its rows of faces)."""
PAN_IGNORE_BELOW = 0.6
"""A face of the pan video less visible than this (its box clipped by the frame) is an ignore region."""


def pan_windows(seconds: float = 4.0, fps: float = 10.0, sweep_seconds: float | None = None) -> np.ndarray:
    """Per frame of :func:`pan_video`, the [x, y, w, h] window of the Solvay picture it shows."""
    window_w, window_h, top = PAN_WINDOW
    count = max(1, round(seconds * fps))
    sweep = sweep_seconds or seconds
    travel = _SOLVAY_WIDTH - window_w
    phase = (np.arange(count) / fps / sweep) % 2.0
    xs = travel * np.where(phase <= 1.0, phase, 2.0 - phase)
    return np.column_stack([xs, np.full(count, top), np.full(count, window_w), np.full(count, window_h)])


def pan_video(
    target: str | os.PathLike[str],
    *,
    seconds: float = 4.0,
    fps: float = 10.0,
    size: tuple[int, int] = (640, 360),
    sweep_seconds: float | None = None,
    keyframe_interval: int | None = None,
) -> PanVideo:
    """Write an H.264 mp4 of a camera panning across the Solvay picture, left to right and back.

    The camera shows a 1280 x 720 window of the picture (its rows of faces), scaled to ``size``,
    sliding over the picture's width once per ``sweep_seconds`` (default: the whole video), so
    faces leave at the left edge and enter at the right at known times (:func:`pan_truth`).
    ``keyframe_interval`` caps the frames between keyframes (default: the encoder's, 250).
    Used by tests and bench.
    """
    import av
    import cv2

    picture = solvay()
    scale = size[0] / PAN_WINDOW[0]
    small = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    windows = pan_windows(seconds, fps, sweep_seconds)
    path = Path(target)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        if keyframe_interval is not None:
            stream.codec_context.gop_size = keyframe_interval
        for x, y, _, _ in windows:
            shift = np.array([[1, 0, -x * scale], [0, 1, -y * scale]], dtype=np.float32)
            pixels = np.asarray(cv2.warpAffine(small, shift, size, flags=cv2.INTER_LINEAR), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
    return PanVideo(path, windows, size)


def truth(name: str) -> pd.DataFrame:
    """The true faces of sample ``name`` as a :func:`facekit.read_truth` table (``source``: its file name)."""
    from .truth import read_truth

    samples = registry()
    if name not in samples:
        raise KeyError(f"no sample {name!r}; samples: {', '.join(samples)}")
    sample = samples[name]
    boxes = np.asarray(sample["truth"], dtype=np.float64).reshape(-1, 4)
    return read_truth(
        pd.DataFrame(
            {
                "source": Path(sample["file"]).name,
                "x": boxes[:, 0],
                "y": boxes[:, 1],
                "w": boxes[:, 2],
                "h": boxes[:, 3],
            }
        )
    )


def pan_truth(video: PanVideo) -> pd.DataFrame:
    """The true faces of every frame of a :func:`pan_video`, by construction: each Solvay face
    moved by the frame's window, clipped to the frame and rounded to whole pixels, ``track_id``
    its row in ``truth("solvay")``, ``ignore`` when less than :data:`PAN_IGNORE_BELOW` of it shows."""
    from .truth import read_truth

    faces = truth("solvay")[["x", "y", "w", "h"]].to_numpy()
    width, height = video.size
    tables = []
    for frame in range(len(video.windows)):
        boxes = video.to_video(faces, frame)
        x1 = np.clip(boxes[:, 0], 0, width)
        y1 = np.clip(boxes[:, 1], 0, height)
        x2 = np.clip(boxes[:, 0] + boxes[:, 2], 0, width)
        y2 = np.clip(boxes[:, 1] + boxes[:, 3], 0, height)
        shown = (x2 - x1) * (y2 - y1) / (boxes[:, 2] * boxes[:, 3])
        x1, y1, x2, y2 = (np.rint(v) for v in (x1, y1, x2, y2))
        here = np.flatnonzero((x2 > x1) & (y2 > y1))
        tables.append(
            pd.DataFrame(
                {
                    "source": video.path.name,
                    "frame": frame,
                    "track_id": here,
                    "x": x1[here],
                    "y": y1[here],
                    "w": (x2 - x1)[here],
                    "h": (y2 - y1)[here],
                    "ignore": shown[here] < PAN_IGNORE_BELOW,
                }
            )
        )
    return read_truth(pd.concat(tables, ignore_index=True))


def akool_examples() -> dict[str, dict]:
    """The response examples of Akool's OpenAPI document (seed 004), by name ("image_success",
    "video_success", ..., and "400" / "500" for the error answers), as shipped with facekit."""
    from .schema import akool_openapi

    responses = akool_openapi()["paths"]["/detect_faces"]["post"]["responses"]
    found = {name: e["value"] for name, e in responses["200"]["content"]["application/json"]["examples"].items()}
    for status in ("400", "500"):
        found[status] = responses[status]["content"]["application/json"]["example"]
    return found
