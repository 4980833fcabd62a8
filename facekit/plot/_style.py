"""What every facekit plot shares: the track palette, box and label drawing, clocks and lanes."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D, IdentityTransform

from ..schema import LANDMARKS

__all__ = [
    "BELOW_COLOR",
    "KEPT_COLOR",
    "LABEL_BACKING",
    "LABEL_FONT",
    "LABEL_PAD",
    "LANDMARK_X",
    "LANDMARK_Y",
    "PALETTE",
    "REMOVED_COLOR",
    "THRESHOLD_COLOR",
    "TRACK_COLORS",
    "analysed_frames",
    "axes_or_new",
    "draw_boxes",
    "draw_labels",
    "finite",
    "frame_clock",
    "label_paths",
    "per_track",
    "place_labels",
    "plural",
    "threshold_line",
    "track_color",
    "track_colors",
    "track_ids",
    "track_label",
    "track_lines",
]


def _palette(count: int = 60) -> np.ndarray:
    """``count`` track colours: hues a golden angle apart (so ids close in number are far in hue)
    in three saturation and three brightness tiers (so ids a hue-cycle apart still differ)."""
    from matplotlib.colors import hsv_to_rgb

    i = np.arange(count)
    hue = (0.6 + i * 0.6180339887) % 1.0
    saturation = np.array([0.9, 0.55, 1.0])[i % 3]
    brightness = np.array([0.85, 0.95, 0.6])[(i // 3) % 3]
    return hsv_to_rgb(np.column_stack([hue, saturation, brightness]))


PALETTE = _palette()
TRACK_COLORS = tuple(tuple(float(c) for c in rgb) for rgb in PALETTE)
REMOVED_COLOR = (0.55, 0.55, 0.55)
BELOW_COLOR = (0.75, 0.75, 0.75)
KEPT_COLOR = "C0"
THRESHOLD_COLOR = "C3"
LABEL_FONT = FontProperties(size=7)
LABEL_PAD = 1.0  # points around a label's text
LABEL_BACKING = (0.1, 0.1, 0.1, 0.75)  # dark, so white text reads on any picture and any track colour
LANDMARK_X = [f"{name}_x" for name in LANDMARKS]
LANDMARK_Y = [f"{name}_y" for name in LANDMARKS]


def track_colors(track_ids: Iterable[Any]) -> np.ndarray:
    """(N, 3) RGB colours of ``track_ids`` (a missing id gets the first colour), in one numpy step."""
    ids = pd.array(list(track_ids), dtype="Int64").fillna(0).to_numpy(np.int64)
    return PALETTE[ids % len(PALETTE)].reshape(-1, 3)


def track_color(track_id: Any) -> tuple[float, float, float]:
    """The colour of a track: the same id gets the same colour in every plot."""
    return tuple(track_colors([track_id])[0].tolist())


def track_label(track_id: Any) -> str:
    return "" if pd.isna(track_id) else f"#{int(track_id)}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def axes_or_new(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the Axes of a new figure of ``figsize`` inches."""
    return plt.subplots(figsize=figsize, layout="constrained")[1] if ax is None else ax


def analysed_frames(faces: pd.DataFrame, frames: pd.DataFrame | None) -> pd.DataFrame:
    """The analysed frames (``frame``, ``time``) in order; without ``frames``, those that have a face."""
    table = faces if frames is None else frames
    return table[["frame", "time"]].drop_duplicates("frame").sort_values("frame").reset_index(drop=True)


def frame_clock(frames: pd.DataFrame) -> tuple[pd.Series, str]:
    """Frame index -> x position (time in seconds, or the frame index where there is no time), and the x label."""
    if frames["time"].notna().any():
        return pd.Series(frames["time"].to_numpy(float), index=frames["frame"]), "time (s)"
    return pd.Series(frames["frame"].to_numpy(float), index=frames["frame"]), "frame"


def track_ids(*tables: pd.DataFrame | None) -> np.ndarray:
    """The distinct track ids (missing ones left out) of ``tables``, ascending."""
    ids = [t["track_id"].dropna().to_numpy(np.int64) for t in tables if t is not None and len(t)]
    return np.unique(np.concatenate(ids)) if ids else np.empty(0, np.int64)


def per_track(faces: pd.DataFrame, frames: pd.DataFrame, values: np.ndarray, tracks: np.ndarray) -> np.ndarray:
    """``values`` (one per face row) as an (analysed frames x ``tracks``) matrix, NaN where a track is absent."""
    matrix = np.full((len(frames), len(tracks)), np.nan)
    known = faces["track_id"].notna().to_numpy() & faces["frame"].isin(frames["frame"]).to_numpy()
    rows = np.searchsorted(frames["frame"].to_numpy(), faces["frame"].to_numpy()[known])
    columns = np.searchsorted(tracks, faces["track_id"].to_numpy(np.float64, na_value=np.nan)[known])
    matrix[rows, columns] = np.asarray(values, dtype=float)[known]
    return matrix


def track_lines(ax: Axes, xs: np.ndarray, matrix: np.ndarray, tracks: np.ndarray, **style: Any) -> None:
    """One line per track from its first to its last analysed frame, broken (NaN) where it is absent."""
    for column, track in enumerate(tracks):
        present = np.flatnonzero(~np.isnan(matrix[:, column]))
        span = slice(present[0], present[-1] + 1)
        ax.plot(xs[span], matrix[span, column], color=track_color(track), label=track_label(track), **style)


def draw_boxes(ax: Axes, boxes: pd.DataFrame, colors: np.ndarray, linewidth: float, **style: Any) -> None:
    """All ``boxes`` (x, y, w, h rows) as one collection of rectangles."""
    x, y, w, h = (boxes[c].to_numpy(float) for c in ("x", "y", "w", "h"))
    corners = np.stack(
        [
            np.column_stack([x, y]),
            np.column_stack([x + w, y]),
            np.column_stack([x + w, y + h]),
            np.column_stack([x, y + h]),
        ],
        axis=1,
    )
    ax.add_collection(
        PolyCollection(list(corners), closed=True, facecolors="none", edgecolors=colors, linewidths=linewidth, **style),
        autolim=False,
    )


@lru_cache(maxsize=4096)
def label_paths(text: str) -> tuple[Path, Path]:
    """``text`` as glyph outlines in points, and the padded box behind them, both from (0, 0) upwards."""
    glyphs = TextPath((0, 0), text, prop=LABEL_FONT)
    drawn = glyphs.vertices[glyphs.codes != Path.CLOSEPOLY]  # control points: Path.get_extents is 10x slower
    (left, low), (right, top) = drawn.min(axis=0), drawn.max(axis=0)
    bottom = min(low, 0.0)  # the baseline, or below it for descenders
    shifted = glyphs.transformed(Affine2D().translate(LABEL_PAD - left, LABEL_PAD - bottom))
    width, height = right - left + 2 * LABEL_PAD, top - bottom + 2 * LABEL_PAD
    return shifted, Path([(0, 0), (width, 0), (width, height), (0, height), (0, 0)], closed=True)


def place_labels(
    boxes: np.ndarray, sizes: np.ndarray, bounds: tuple[float, float] | None, gap: float = 0.0
) -> np.ndarray:
    """Top-left corners (N, 2) for labels of ``sizes`` (N, 2: width, height) beside ``boxes``
    ([x, y, w, h], y downwards), in the order given (put the most important first).

    Each label goes above its box, else inside its top edge, else below it, shifted to stay within
    ``bounds`` (width, height); a label that would overlap one already placed is dropped (NaN).
    """
    corners = np.full((len(boxes), 2), np.nan)
    placed = np.zeros((0, 4))  # x1, y1, x2, y2 of the labels kept so far
    for row, ((x, y, _, h), (width, height)) in enumerate(zip(np.asarray(boxes, float), np.asarray(sizes, float))):
        if not np.isfinite(x + y):
            continue
        for top in (y - height - gap, y + gap, y + h + gap):
            left = x
            if bounds is not None:
                left = min(max(left, 0.0), max(bounds[0] - width, 0.0))
                top = min(max(top, 0.0), max(bounds[1] - height, 0.0))
            free = ~np.any(
                (placed[:, 0] < left + width)
                & (placed[:, 2] > left)
                & (placed[:, 1] < top + height)
                & (placed[:, 3] > top)
            )
            if free:
                corners[row] = left, top
                placed = np.vstack([placed, [left, top, left + width, top + height]])
                break
    return corners


def _data_per_point(ax: Axes) -> tuple[float, float]:
    """Data units per typographic point along x and y, at the axes' current size."""
    box = ax.get_window_extent()
    points = 72.0 / ax.figure.dpi
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return abs(x1 - x0) / max(box.width * points, 1e-9), abs(y1 - y0) / max(box.height * points, 1e-9)


def draw_labels(
    ax: Axes, boxes: pd.DataFrame, texts: list[str], colors: np.ndarray, priority: np.ndarray | None = None
) -> None:
    """A tag beside each box: white text on a dark backing edged in its (N, 3) ``colors``,
    readable on any picture, kept inside the axes and dropped where tags would overlap
    (``priority``, e.g. the scores, decides which are kept first).

    The glyphs are outlines drawn like scatter markers (sizes in points, offsets in data), two
    collections in all: a hundred matplotlib Text artists with boxes take ~200 ms to draw.
    """
    shown = [i for i, text in enumerate(texts) if text]
    if not shown:
        return
    glyphs, backs = zip(*(label_paths(texts[i]) for i in shown))
    per_x, per_y = _data_per_point(ax)
    sizes = np.array([back.vertices[2] for back in backs]) * [per_x, per_y]
    order = (
        np.arange(len(shown))
        if priority is None
        else np.argsort(-np.nan_to_num(np.asarray(priority, float)[shown], nan=-1.0), kind="stable")
    )
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    table = boxes[["x", "y", "w", "h"]].to_numpy(float)[shown]
    corners = np.full((len(shown), 2), np.nan)
    corners[order] = place_labels(
        table[order] - [min(x0, x1), min(y0, y1), 0, 0], sizes[order], (abs(x1 - x0), abs(y1 - y0))
    )
    kept = np.flatnonzero(~np.isnan(corners[:, 0]))
    if not kept.size:
        return
    offsets = corners[kept] + [min(x0, x1), min(y0, y1) + 0.0]
    offsets[:, 1] += sizes[kept, 1]  # the glyphs grow upwards on screen from the label's bottom-left
    edges = np.asarray(colors, float)[shown][kept]
    for paths, face, edge, zorder in ((backs, LABEL_BACKING, edges, 4), (glyphs, "white", "none", 5)):
        ax.add_collection(
            PathCollection(
                [paths[i] for i in kept],
                sizes=[1.0],
                offsets=offsets,
                offset_transform=ax.transData,
                transform=IdentityTransform(),
                facecolors=face,
                edgecolors=edge,
                linewidths=0.8 if zorder == 4 else 0,
                zorder=zorder,
            ),
            autolim=False,
        )


def finite(scores: Iterable[float]) -> np.ndarray:
    """The known scores (NaN dropped), as floats clipped to 0..1."""
    values = np.asarray(scores, dtype=float).ravel()
    return np.clip(values[~np.isnan(values)], 0.0, 1.0)


def threshold_line(ax: Axes, threshold: float) -> None:
    ax.axvline(threshold, color=THRESHOLD_COLOR, linestyle="--", linewidth=1.2, label=f"threshold {threshold:.2f}")
    ax.set_xlim(0.0, 1.0)


# -- pictures ------------------------------------------------------------------------------------
