"""Faces painted into RGB pixels with OpenCV: boxes, labels, landmarks and trails, or anonymised
(blurred, pixelated or masked) regions. Fast enough for every frame of a video; no matplotlib.

Faces are :class:`Faces`: plain arrays of one frame's boxes, landmarks, scores and track ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import pandas as pd

from .plot._style import place_labels, track_colors, track_label
from .table import BOX_COLUMNS, LANDMARK_COLUMNS

__all__ = [
    "MASK_COLOR",
    "PIXELATE_CELLS",
    "SHAPES",
    "STYLES",
    "Faces",
    "Shape",
    "Style",
    "anonymize",
    "colors_255",
    "draw_boxes",
    "scale_of",
]

Style = Literal["boxes", "blur", "pixelate", "mask"]
Shape = Literal["ellipse", "box"]
STYLES: tuple[str, ...] = ("boxes", "blur", "pixelate", "mask")
SHAPES: tuple[str, ...] = ("ellipse", "box")
PIXELATE_CELLS = 8
"""Blocks across a pixelated face: few enough that no detector finds a face in them."""
MASK_COLOR = (0, 0, 0)


@dataclass(frozen=True)
class Faces:
    """One frame's faces: (N, 4) ``boxes`` [x, y, w, h], (N, 12) ``points`` (six landmarks x, y),
    (N,) ``scores`` and (N,) ``tracks`` (NaN where unknown), in picture pixels."""

    boxes: np.ndarray
    points: np.ndarray
    scores: np.ndarray
    tracks: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def none(cls) -> Faces:
        return cls(np.zeros((0, 4)), np.zeros((0, 12)), np.zeros(0), np.zeros(0))

    @classmethod
    def of(cls, rows: pd.DataFrame | None, scale: float = 1.0) -> Faces:
        """The faces of rows of ``Result.to_frame()``, their coordinates multiplied by ``scale``."""
        if rows is None or not len(rows):
            return cls.none()
        return cls(
            rows[BOX_COLUMNS].to_numpy(np.float64) * scale,
            rows[LANDMARK_COLUMNS].to_numpy(np.float64, na_value=np.nan) * scale,
            rows["score"].to_numpy(np.float64, na_value=np.nan),
            rows["track_id"].to_numpy(np.float64, na_value=np.nan),
        )

    def take(self, rows: np.ndarray) -> Faces:
        return Faces(self.boxes[rows], self.points[rows], self.scores[rows], self.tracks[rows])

    @classmethod
    def concat(cls, parts: Sequence[Faces]) -> Faces:
        """The faces of ``parts``, one after another."""
        return cls(
            *(np.concatenate([getattr(p, name) for p in parts]) for name in ("boxes", "points", "scores", "tracks"))
        )


def scale_of(shape: Sequence[int]) -> float:
    """Line and text size for a picture of ``shape``: 1 at 720 pixels on the short side."""
    return max(0.5, min(shape[0], shape[1]) / 720)


def colors_255(tracks: np.ndarray) -> list[tuple[int, int, int]]:
    """Track colours as RGB 0..255 tuples (the plots' palette, so a track looks the same everywhere)."""
    return [(round(r * 255), round(g * 255), round(b * 255)) for r, g, b in track_colors(tracks)]


def draw_boxes(
    pixels: np.ndarray,
    faces: Faces,
    *,
    labels: bool = True,
    landmarks: bool = True,
    trails: dict[float, list[tuple[float, float]]] | None = None,
) -> np.ndarray:
    """Boxes in track colours, ``#id score`` labels on a dark backing (kept inside the picture,
    dropped where they would overlap), landmarks and each track's recent centres (``trails``)."""
    unit = scale_of(pixels.shape)
    thickness = max(1, round(2 * unit))
    colors = colors_255(faces.tracks)
    if trails:
        for track, points in trails.items():
            if len(points) > 1:
                line = np.round(np.asarray(points)).astype(np.int32)
                cv2.polylines(pixels, [line], False, colors_255(np.array([track]))[0], thickness, cv2.LINE_AA)
    for box, color in zip(np.round(faces.boxes).astype(np.int64), colors):
        x, y, w, h = box.tolist()
        cv2.rectangle(pixels, (x, y), (x + w, y + h), color, thickness, cv2.LINE_AA)
    if landmarks:
        radius = max(1, round(2 * unit))
        for row, color in zip(faces.points, colors):
            for px, py in row.reshape(-1, 2):
                if np.isfinite(px) and np.isfinite(py):
                    cv2.circle(pixels, (round(px), round(py)), radius, color, -1, cv2.LINE_AA)
    if labels and len(faces):
        _draw_labels(pixels, faces, colors, unit)
    return pixels


def _draw_labels(pixels: np.ndarray, faces: Faces, colors: list[tuple[int, int, int]], unit: float) -> None:
    """White text on a dark backing edged in the track colour; the best-scoring faces are labelled first."""
    font, size, weight = cv2.FONT_HERSHEY_SIMPLEX, 0.45 * unit, max(1, round(unit))
    texts = [
        f"{track_label(t)} {s:.2f}".strip() if np.isfinite(s) else track_label(t)
        for t, s in zip(faces.tracks, faces.scores)
    ]
    extents = [cv2.getTextSize(text, font, size, weight) for text in texts]
    pad = max(2, round(2 * unit))
    sizes = np.array([(w + 2 * pad, h + base + 2 * pad) for (w, h), base in extents], dtype=float)
    order = np.argsort(-np.nan_to_num(faces.scores, nan=-1.0), kind="stable")
    corners = place_labels(faces.boxes[order], sizes[order], (pixels.shape[1], pixels.shape[0]))
    for row, corner in zip(order, corners):
        if not texts[row] or np.isnan(corner[0]):
            continue
        x, y = int(corner[0]), int(corner[1])
        w, h = int(sizes[row, 0]), int(sizes[row, 1])
        cv2.rectangle(pixels, (x, y), (x + w - 1, y + h - 1), (20, 20, 20), -1)
        cv2.rectangle(pixels, (x, y), (x + w - 1, y + h - 1), colors[row], 1)
        baseline = extents[row][1]
        cv2.putText(
            pixels, texts[row], (x + pad, y + h - pad - baseline), font, size, (255, 255, 255), weight, cv2.LINE_AA
        )


def anonymize(
    pixels: np.ndarray, faces: Faces, *, style: Style = "blur", shape: Shape = "ellipse", margin: float = 0.5
) -> np.ndarray:
    """``pixels`` with each face's region (its box grown by ``margin`` of its size on every side)
    blurred, pixelated or masked, within an ellipse or the whole box; modified in place."""
    height, width = pixels.shape[:2]
    for x, y, w, h in faces.boxes:
        if not (np.isfinite(x) and w > 0 and h > 0):
            continue
        x1, y1 = max(0, int(np.floor(x - margin * w))), max(0, int(np.floor(y - margin * h)))
        x2, y2 = min(width, int(np.ceil(x + w + margin * w))), min(height, int(np.ceil(y + h + margin * h)))
        if x2 <= x1 or y2 <= y1:
            continue
        region = pixels[y1:y2, x1:x2]
        hidden = _hidden(region, style)
        if shape == "box":
            region[:] = hidden
            continue
        inside = np.zeros(region.shape[:2], np.uint8)
        centre = (round(x + w / 2) - x1, round(y + h / 2) - y1)
        axes = (max(1, round(w * (0.5 + margin))), max(1, round(h * (0.5 + margin))))
        cv2.ellipse(inside, centre, axes, 0, 0, 360, 255, -1)
        np.copyto(region, hidden, where=inside[..., None] > 0)
    return pixels


def _hidden(region: np.ndarray, style: str) -> np.ndarray:
    """What replaces a face region: a strong blur (kernel a third of its size, twice), big blocks, or a solid fill."""
    height, width = region.shape[:2]
    if style == "mask":
        return np.broadcast_to(np.asarray(MASK_COLOR, np.uint8), region.shape)
    if style == "pixelate":
        cells = (
            max(1, min(PIXELATE_CELLS, width)),
            max(1, min(PIXELATE_CELLS, round(PIXELATE_CELLS * height / width))),
        )
        small = cv2.resize(region, cells, interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    kernel = (max(3, width // 3) | 1, max(3, height // 3) | 1)
    return cv2.blur(cv2.blur(region, kernel), kernel)
