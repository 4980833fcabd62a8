"""Sample pictures, like ``skimage.data`` (the three that ship in the scrfd 0.3.0 sdist), and a
generated video panning across one of them, whose true face positions are known.

The pictures are fetched together with the detector (``facekit models fetch``) and verified by sha256.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import models
from .limits import Limits
from .media import decode_image

SAMPLES = {
    "solvay": "images/solvay_conference_1927.jpg",  # Solvay conference 1927: 29 faces
    "newton": "images/newton.png",
    "gauss": "images/gauss.png",
}


def path(name: str) -> Path:
    """Local path of sample ``name`` ("solvay", "newton" or "gauss"), fetching it if needed."""
    if name not in SAMPLES:
        raise KeyError(f"no sample {name!r}; samples: {', '.join(SAMPLES)}")
    target = models.home() / SAMPLES[name]
    if not target.is_file():
        models.fetch()
    return target


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
    faces leave at the left edge and enter at the right at known times. ``keyframe_interval``
    caps the frames between keyframes (default: the encoder's, 250). Used by tests and bench.
    """
    import av
    import cv2

    picture = solvay()
    window_w, window_h, top = 1280.0, 720.0, 650.0
    scale = size[0] / window_w
    small = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    count = max(1, int(round(seconds * fps)))
    sweep = sweep_seconds or seconds
    travel = picture.shape[1] - window_w
    phase = (np.arange(count) / fps / sweep) % 2.0
    xs = travel * np.where(phase <= 1.0, phase, 2.0 - phase)
    windows = np.column_stack([xs, np.full(count, top), np.full(count, window_w), np.full(count, window_h)])
    path = Path(target)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        if keyframe_interval is not None:
            stream.codec_context.gop_size = keyframe_interval
        for x, y, _, _ in windows:
            shift = np.float32([[1, 0, -x * scale], [0, 1, -y * scale]])
            pixels = cv2.warpAffine(small, shift, size, flags=cv2.INTER_LINEAR)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
    return PanVideo(path, windows, size)


def akool_examples() -> dict[str, dict]:
    """The response examples of Akool's OpenAPI document (seed 004), by name ("image_success",
    "video_success", ..., and "400" / "500" for the error answers), as shipped with facekit."""
    from .schema import akool_openapi

    responses = akool_openapi()["paths"]["/detect_faces"]["post"]["responses"]
    found = {name: e["value"] for name, e in responses["200"]["content"]["application/json"]["examples"].items()}
    for status in ("400", "500"):
        found[status] = responses[status]["content"]["application/json"]["example"]
    return found
