"""matplotlib drawings of results: boxes, the six landmarks, track ids and scores on a picture."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from .schema import LANDMARKS

TRACK_COLORS = plt.get_cmap("tab20").colors


def track_color(track_id) -> tuple[float, float, float]:
    """The colour of a track: the same id gets the same colour in every plot."""
    return TRACK_COLORS[0] if pd.isna(track_id) else TRACK_COLORS[int(track_id) % len(TRACK_COLORS)]


def overlay(
    image: np.ndarray | None,
    faces: pd.DataFrame,
    *,
    ax: Axes | None = None,
    size: tuple[int | None, int | None] = (None, None),
    labels: bool = True,
    landmarks: bool = True,
    linewidth: float = 1.5,
) -> Axes:
    """Draw ``faces`` (rows of ``Result.to_frame()``) over ``image``; without an image, on a blank
    canvas of ``size`` (width, height). Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    if image is not None:
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    else:
        width, height = size
        ax.set_xlim(0, width or max(1.0, float((faces["x"] + faces["w"]).max() if len(faces) else 1)))
        ax.set_ylim(height or max(1.0, float((faces["y"] + faces["h"]).max() if len(faces) else 1)), 0)
        ax.set_aspect("equal")
    for row in faces.itertuples(index=False):
        color = track_color(row.track_id)
        ax.add_patch(Rectangle((row.x, row.y), row.w, row.h, fill=False, edgecolor=color, linewidth=linewidth))
        if landmarks:
            xs = [getattr(row, f"{name}_x") for name in LANDMARKS]
            ys = [getattr(row, f"{name}_y") for name in LANDMARKS]
            ax.scatter(xs, ys, s=6, color=color, zorder=3)
        if labels:
            score = "" if pd.isna(row.score) else f" {row.score:.2f}"
            track = "" if pd.isna(row.track_id) else f"#{int(row.track_id)}"
            ax.text(row.x, row.y - 2, f"{track}{score}", color="white", fontsize=7, va="bottom",
                    bbox={"facecolor": color, "alpha": 0.8, "pad": 1, "linewidth": 0})
    ax.set_axis_off()
    ax.set_title(f"{len(faces)} face{'s' if len(faces) != 1 else ''}")
    return ax
