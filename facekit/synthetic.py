"""A generated multi-shot video whose true face tracks are known by construction.

Four shots cut hard into each other, made from the sample pictures (:mod:`facekit.data`):

0. two portraits (Newton, Gauss) cut out with soft oval edges slide across a gradient and cross;
1. a slow pan across the Solvay 1927 photograph (a row of faces entering and leaving);
2. Newton pauses out of sight for 0.3 s (within the tracker's patience: one track, no
   ``removed``) while Gauss leaves for 1.2 s and comes back somewhere else (one track, removed
   once when he left, joined again by appearance);
3. the Newton painting, full frame: the same person as in shots 0 and 2, after a cut.

A track never crosses a cut, so each (shot, person) is one true track; the ``person`` column says
who it is across shots. Faces less than :data:`IGNORE_BELOW` visible (clipped by the frame or
covered by another portrait) are ignore regions, as in MOTChallenge.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["IGNORE_BELOW", "ShotVideo", "crowd_video", "shot_video"]

IGNORE_BELOW = 0.6
"""A face less visible than this (clipped or covered) is an ignore region of the truth."""
TRUTH_COLUMNS = ["frame", "track_id", "person", "shot", "x", "y", "w", "h", "ignore"]
_SECONDS = (2.5, 2.0, 3.0, 1.5)  # length of each shot


@dataclass(frozen=True)
class ShotVideo:
    """A generated video: its ``path``, frame rate, (width, height), the first frame of each shot
    and the ``truth`` (frame, track_id, person, shot, x, y, w, h, ignore) of every face in every frame."""

    path: Path
    fps: float
    size: tuple[int, int]
    shot_starts: tuple[int, ...]
    truth: pd.DataFrame


@dataclass(frozen=True)
class _Sprite:
    """A portrait cut out with an oval alpha, and where its face is inside it."""

    pixels: np.ndarray  # h x w x 3 float
    alpha: np.ndarray  # h x w float in 0..1
    face: np.ndarray  # [x, y, w, h] in sprite pixels


def shot_video(target: str | os.PathLike[str], *, fps: float = 10.0, size: tuple[int, int] = (640, 360)) -> ShotVideo:
    """Write the four-shot H.264 mp4 to ``target`` (9 s) and return it with its true tracks."""
    from . import data

    height = size[1]
    newton = _sprite(data.newton(), _face("newton"), 0.23 * height)
    gauss = _sprite(data.gauss(), _face("gauss"), 0.23 * height)
    shots = [_crossing(newton, gauss), _crowd(data.solvay(), _faces("solvay")), _gaps(newton, gauss),
             _portrait(data.newton(), _face("newton"))]  # fmt: skip
    return _write(Path(target), fps, size, shots, _SECONDS)


def crowd_video(
    target: str | os.PathLike[str], *, fps: float = 10.0, size: tuple[int, int] = (640, 360), seconds: float = 4.0
) -> ShotVideo:
    """Write a one-shot H.264 mp4 of a crowd of look-alikes to ``target`` and return it with its true
    tracks: eight black-and-white faces of the Solvay photograph walk across a still camera in two
    lanes, in opposite directions and at different speeds, passing close to each other, entering and
    leaving at the sides (the appearance descriptor tells them apart least well)."""
    from . import data

    picture, faces = data.solvay(), _faces("solvay")
    chosen = np.argsort(faces[:, 0])[:: max(1, len(faces) // _WALKERS)][:_WALKERS]
    sprites = [_sprite(picture, faces[i], 0.14 * size[1], _HEAD) for i in chosen]
    return _write(Path(target), fps, size, [_walkers(sprites, [f"solvay {i}" for i in chosen])], (seconds,))


def _write(path: Path, fps: float, size: tuple[int, int], shots: list[Any], seconds: tuple[float, ...]) -> ShotVideo:
    """Draw ``shots`` (each lasting its ``seconds``) into an H.264 mp4 at ``path``, with the truth of every face."""
    import av

    counts = [max(1, round(s * fps)) for s in seconds]
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(int)
    rows: list[list[Any]] = []
    next_track = 0
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        for shot, (draw, count, start) in enumerate(zip(shots, counts, starts)):
            people: dict[str, int] = {}
            for step in range(count):
                pixels, faces = draw(step / max(count - 1, 1), step / fps, size)
                frame = av.VideoFrame.from_ndarray(np.clip(pixels, 0, 255).astype(np.uint8), format="rgb24")
                container.mux(stream.encode(frame))
                for person, box, shown in faces:
                    row = _truth_row(start + step, len(people), person, shot, box, shown, size)
                    if row is not None:
                        row[1] = next_track + people.setdefault(person, len(people))
                        rows.append(row)
            next_track += len(people)
        container.mux(stream.encode(None))
    truth = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    truth = truth.astype({"frame": "int64", "track_id": "Int64", "shot": "int64", "ignore": bool})
    return ShotVideo(path, fps, size, tuple(int(s) for s in starts[:-1]), truth.reset_index(drop=True))


def _face(name: str) -> np.ndarray:
    return _faces(name)[0]


def _faces(name: str) -> np.ndarray:
    from . import data

    return data.truth(name)[["x", "y", "w", "h"]].to_numpy(np.float64)


def _truth_row(
    frame: int, track: int, person: str, shot: int, box: np.ndarray, shown: float, size: tuple[int, int]
) -> list[Any] | None:
    """One truth row: the box clipped to the frame, an ignore region when less than IGNORE_BELOW
    shows; None when none of it is in the frame."""
    x1, y1 = np.clip(box[:2], 0, size)
    x2, y2 = np.clip(box[:2] + box[2:], 0, size)
    if x2 <= x1 or y2 <= y1:
        return None
    inside = (x2 - x1) * (y2 - y1) / (box[2] * box[3])
    return [frame, track, person, shot, x1, y1, x2 - x1, y2 - y1, bool(shown * inside < IGNORE_BELOW)]


_HEAD_AND_SHOULDERS = (0.7, 0.6, 1.7, 1.5)  # crop left, top, right, bottom of a face box, in face widths/heights
_HEAD = (0.25, 0.3, 1.25, 1.3)  # no more than the head: no neighbour's face in a crowded picture


def _sprite(
    picture: np.ndarray, face: np.ndarray, face_height: float, margins: tuple[float, ...] = _HEAD_AND_SHOULDERS
) -> _Sprite:
    """Head and shoulders (or ``margins``) around ``face``, scaled so the face is ``face_height`` pixels tall, in a soft oval."""
    import cv2

    x, y, w, h = face
    left, top, right, bottom = margins
    x0, y0 = int(max(x - left * w, 0)), int(max(y - top * h, 0))
    x1, y1 = int(min(x + right * w, picture.shape[1])), int(min(y + bottom * h, picture.shape[0]))
    scale = face_height / h
    crop = cv2.resize(picture[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    rows, cols = np.mgrid[: crop.shape[0], : crop.shape[1]]
    oval = ((cols + 0.5) / crop.shape[1] * 2 - 1) ** 2 + ((rows + 0.5) / crop.shape[0] * 2 - 1) ** 2
    alpha = np.clip((1.0 - oval) / 0.15, 0.0, 1.0)
    box = np.array([(x - x0) * scale, (y - y0) * scale, w * scale, h * scale])
    return _Sprite(crop.astype(np.float64), alpha, box)


def _gradient(size: tuple[int, int], top: tuple[float, float, float], bottom: tuple[float, float, float]) -> np.ndarray:
    width, height = size
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    return np.broadcast_to((1 - t) * np.array(top) + t * np.array(bottom), (height, width, 3)).copy()


def _paste(canvas: np.ndarray, sprite: _Sprite, at: tuple[float, float]) -> np.ndarray:
    """Blend ``sprite`` onto ``canvas`` with its top-left corner at ``at``; returns the alpha it laid (canvas-sized)."""
    laid = np.zeros(canvas.shape[:2])
    left, top = round(at[0]), round(at[1])
    h, w = sprite.alpha.shape
    cy0, cx0 = max(top, 0), max(left, 0)
    cy1, cx1 = min(top + h, canvas.shape[0]), min(left + w, canvas.shape[1])
    if cy1 <= cy0 or cx1 <= cx0:
        return laid
    alpha = sprite.alpha[cy0 - top : cy1 - top, cx0 - left : cx1 - left]
    region = canvas[cy0:cy1, cx0:cx1]
    region[:] = (
        alpha[..., None] * sprite.pixels[cy0 - top : cy1 - top, cx0 - left : cx1 - left]
        + (1 - alpha[..., None]) * region
    )
    laid[cy0:cy1, cx0:cx1] = alpha
    return laid


def _shown(box: np.ndarray, covers: list[np.ndarray]) -> float:
    """Fraction of ``box`` not covered (alpha over one half) by the later-drawn layers ``covers``."""
    if not covers:
        return 1.0
    x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
    x1, y1 = int(box[0] + box[2]), int(box[1] + box[3])
    region = np.maximum.reduce([c[y0:y1, x0:x1] for c in covers])
    return 1.0 - float((region > 0.5).mean()) if region.size else 0.0


Face = tuple[str, np.ndarray, float]  # person, [x, y, w, h] in the frame, fraction not covered


def _scene(
    background: np.ndarray, placed: list[tuple[str, _Sprite, tuple[float, float]]]
) -> tuple[np.ndarray, list[Face]]:
    """Sprites pasted in order onto ``background``, and each one's face with how much of it shows."""
    layers = [_paste(background, sprite, at) for _, sprite, at in placed]
    faces = []
    for i, (person, sprite, at) in enumerate(placed):
        box = sprite.face + np.array([round(at[0]), round(at[1]), 0, 0])
        faces.append((person, box, _shown(box, layers[i + 1 :])))
    return background, faces


def _crossing(newton: _Sprite, gauss: _Sprite) -> Any:
    """Newton walks right along the upper half, Gauss left a little lower, in front of him."""

    def draw(progress: float, _seconds: float, size: tuple[int, int]) -> tuple[np.ndarray, list[Face]]:
        width, height = size
        span = width - newton.alpha.shape[1] - 20
        placed = [("newton", newton, (10 + span * progress, 0.08 * height)),
                  ("gauss", gauss, (10 + span * (1 - progress), 0.38 * height))]  # fmt: skip
        return _scene(_gradient(size, (40, 70, 110), (150, 170, 190)), placed)

    return draw


def _crowd(solvay: np.ndarray, faces: np.ndarray) -> Any:
    """A camera panning slowly along the rows of the Solvay photograph."""
    import cv2

    def draw(progress: float, _seconds: float, size: tuple[int, int]) -> tuple[np.ndarray, list[Face]]:
        window_w, top = 1280.0, 650.0
        left = 700.0 + 300.0 * progress
        scale = size[0] / window_w
        shift = np.array([[scale, 0, -left * scale], [0, scale, -top * scale]], np.float32)
        pixels = cv2.warpAffine(solvay, shift, size, flags=cv2.INTER_AREA).astype(np.float64)
        boxes = np.column_stack([(faces[:, :2] - [left, top]) * scale, faces[:, 2:] * scale])
        return pixels, [(f"solvay {i}", box, 1.0) for i, box in enumerate(boxes)]

    return draw


def _gaps(newton: _Sprite, gauss: _Sprite) -> Any:
    """Newton steps out of sight for 0.3 s; Gauss leaves for 1.2 s and comes back further left."""

    def draw(_progress: float, seconds: float, size: tuple[int, int]) -> tuple[np.ndarray, list[Face]]:
        width, height = size
        placed = []
        if not 0.7 <= seconds < 1.0:
            placed.append(("newton", newton, (0.06 * width + 8 * seconds, 0.2 * height)))
        if seconds < 1.2:
            placed.append(("gauss", gauss, (0.7 * width, 0.25 * height)))
        elif seconds >= 2.4:
            placed.append(("gauss", gauss, (0.45 * width, 0.3 * height)))
        return _scene(_gradient(size, (90, 90, 60), (200, 190, 150)), placed)

    return draw


_WALKERS = 8


def _walkers(sprites: list[_Sprite], people: list[str]) -> Any:
    """Half the ``sprites`` walk right along an upper lane, half left along a lower one that overlaps
    it, each at its own speed (40 to 110 pixels a second) and from its own start, some off-frame."""

    def draw(_progress: float, seconds: float, size: tuple[int, int]) -> tuple[np.ndarray, list[Face]]:
        width, height = size
        placed = []
        for i, (person, sprite) in enumerate(zip(people, sprites)):
            rightward = i % 2 == 0
            speed = 40.0 + 10.0 * i
            start = (i // 2) * width / 4 - (sprite.alpha.shape[1] if rightward else 0) * (i // 2 == 0)
            x = start + speed * seconds if rightward else width - start - speed * seconds
            y = (0.05 if rightward else 0.22) * height + 0.04 * height * (i // 2 % 2)
            placed.append((person, sprite, (x, y)))
        return _scene(_gradient(size, (70, 70, 70), (170, 170, 170)), placed)

    return draw


def _portrait(picture: np.ndarray, face: np.ndarray) -> Any:
    """The whole picture, slowly zooming in on its centre."""
    import cv2

    def draw(progress: float, _seconds: float, size: tuple[int, int]) -> tuple[np.ndarray, list[Face]]:
        zoom = size[0] / picture.shape[1] * (1.0 + 0.08 * progress)
        cx, cy = picture.shape[1] / 2, picture.shape[0] / 2
        affine = np.array([[zoom, 0, size[0] / 2 - cx * zoom], [0, zoom, size[1] / 2 - cy * zoom]], np.float32)
        pixels = cv2.warpAffine(picture, affine, size, flags=cv2.INTER_AREA).astype(np.float64)
        box = np.array([face[0] * zoom + affine[0, 2], face[1] * zoom + affine[1, 2], face[2] * zoom, face[3] * zoom])
        return pixels, [("newton", box, 1.0)]

    return draw
