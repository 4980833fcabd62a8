"""Faces drawn over pictures: one overlay, or a contact sheet of many frames."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..schema import LANDMARKS
from ._style import (
    LANDMARK_X,
    LANDMARK_Y,
    REMOVED_COLOR,
    axes_or_new,
    draw_boxes,
    draw_labels,
    plural,
    track_colors,
    track_label,
)

__all__ = ["MAX_SIDE", "Panel", "contact_sheet", "overlay", "shrunk"]

MAX_SIDE = 2048
"""Longest side, in pixels, a picture is drawn at: sharp at any figure size a notebook shows."""

Panel = tuple[int, float, np.ndarray]
"""One contact-sheet panel: frame index, time in seconds (NaN if unknown), RGB pixels."""


def overlay(
    image: np.ndarray | None,
    faces: pd.DataFrame,
    *,
    ax: Axes | None = None,
    size: tuple[int | None, int | None] = (None, None),
    labels: bool = True,
    landmarks: bool = True,
    linewidth: float = 1.5,
    removed: pd.DataFrame | None = None,
    max_side: int = MAX_SIDE,
) -> Axes:
    """Draw ``faces`` (rows of ``Result.to_frame()``) over ``image``; without an image, on a blank
    canvas of ``size`` (width, height). ``removed`` rows (tracks gone at this frame) are drawn as
    dashed grey boxes. Boxes, landmarks and removed boxes are one collection each, for fast redraws.
    A picture longer than ``max_side`` pixels is shrunk before drawing (a 90 MP photo would take
    seconds and gigabytes to draw at full size); labels go where they do not overlap, best scores first."""
    ax = axes_or_new(ax, (8, 6))
    if image is not None:
        height, width = image.shape[:2]
        # shrunk first, drawn over the full-size extent: the axes stay in source pixels, faces need no scaling
        extent = (-0.5, width - 0.5, height - 0.5, -0.5)  # pixel centres at whole numbers, as imshow has them
        ax.imshow(shrunk(image, max_side), cmap="gray" if image.ndim == 2 else None, extent=extent)
        ax.set_xlim(extent[:2])  # the picture's extent: boxes partly outside it must not widen the view
        ax.set_ylim(extent[2:])
    else:
        width, height = size
        ax.set_xlim(0, width or max(1.0, float((faces["x"] + faces["w"]).max() if len(faces) else 1)))
        ax.set_ylim(height or max(1.0, float((faces["y"] + faces["h"]).max() if len(faces) else 1)), 0)
        ax.set_aspect("equal")
    colors = track_colors(faces["track_id"])
    draw_boxes(ax, faces, colors, linewidth)
    if landmarks and len(faces):
        ax.scatter(
            faces[LANDMARK_X].to_numpy(float).ravel(),
            faces[LANDMARK_Y].to_numpy(float).ravel(),
            s=6,
            c=np.repeat(colors, len(LANDMARKS), axis=0),
            linewidths=0,
            zorder=3,
        )
    if labels:
        texts = [
            f"{track_label(track)}{'' if pd.isna(score) else f' {score:.2f}'}".strip()
            for track, score in zip(faces["track_id"], faces["score"])
        ]
        draw_labels(ax, faces, texts, colors, priority=faces["score"].to_numpy(float, na_value=np.nan))
    if removed is not None and len(removed):
        grey = np.tile(REMOVED_COLOR, (len(removed), 1))
        draw_boxes(ax, removed, grey, linewidth, linestyles="--")
        if labels:
            draw_labels(ax, removed, [f"removed {track_label(t)}".strip() for t in removed["track_id"]], grey)
    ax.set_axis_off()
    ax.set_title(plural(len(faces), "face"))
    return ax


def shrunk(pixels: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """``pixels`` resized (area averaging) so that the longer side is at most ``max_side``."""
    scale = max_side / max(pixels.shape[:2])
    if scale >= 1:
        return pixels
    size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
    return cv2.resize(np.ascontiguousarray(pixels), size, interpolation=cv2.INTER_AREA)


def _pictures(pictures: Mapping[int, np.ndarray] | Iterable[Panel], faces: pd.DataFrame) -> list[Panel]:
    """(frame, time, pixels) panels in frame order; a mapping takes each frame's time from ``faces``."""
    if isinstance(pictures, Mapping):
        times = faces.groupby("frame")["time"].first()
        return [(int(f), float(times.get(f, np.nan)), np.asarray(p)) for f, p in sorted(pictures.items())]
    return sorted(((int(f), float(t), np.asarray(p)) for f, t, p in pictures), key=lambda panel: panel[0])


def contact_sheet(
    pictures: Mapping[int, np.ndarray] | Iterable[Panel],
    faces: pd.DataFrame,
    *,
    removed: pd.DataFrame | None = None,
    columns: int | None = None,
    size: float = 3.0,
    titles: bool = True,
    **style: Any,
) -> Figure:
    """A grid of overlays, one panel per picture, to see a video's sampled frames at a glance.

    ``pictures`` maps frame index -> RGB array, or is a sequence of (frame, time, array);
    ``removed`` rows are drawn in the panel of their frame; ``style`` goes to :func:`overlay`.
    """
    panels = _pictures(pictures, faces)
    columns = max(1, min(columns or 4, len(panels) or 1))
    rows = max(1, -(-len(panels) // columns))
    aspect = panels[0][2].shape[0] / panels[0][2].shape[1] if panels else 1.0
    figure = plt.figure(figsize=(columns * size, rows * size * aspect + (0.3 if titles else 0)), layout="constrained")
    if not panels:
        figure.text(0.5, 0.5, "no pictures", ha="center", va="center")
        return figure
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for spare in axes[len(panels) :]:
        figure.delaxes(spare)
    for ax, (frame, time, pixels) in zip(axes, panels):
        shown = faces[faces["frame"] == frame]
        gone = None if removed is None else removed[removed["frame"] == frame]
        overlay(pixels, shown, ax=ax, removed=gone, **style)
        clock = "" if np.isnan(time) else f" · t={time:.2f} s"
        ax.set_title(f"frame {frame}{clock} · {plural(len(shown), 'face')}" if titles else "", fontsize="small")
    return figure


# -- tracks over time ----------------------------------------------------------------------------
