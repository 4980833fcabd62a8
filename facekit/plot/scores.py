"""The confidence threshold: score histogram and faces kept against threshold."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.ticker import MaxNLocator

from ._style import (
    BELOW_COLOR,
    KEPT_COLOR,
    THRESHOLD_COLOR,
    axes_or_new,
    finite,
    plural,
    threshold_line,
)

__all__ = ["faces_kept", "score_histogram"]


def score_histogram(scores: Iterable[float], threshold: float, *, ax: Axes | None = None, bins: int = 20) -> Axes:
    """Histogram of candidate scores (0..1; NaN left out), bars at or above ``threshold`` in colour and
    below it in grey, with the threshold as a dashed line; the bin holding the threshold is split there."""
    values = finite(scores)
    edges = np.union1d(np.linspace(0.0, 1.0, bins + 1), [min(max(threshold, 0.0), 1.0)])
    counts, _ = np.histogram(values, bins=edges)
    kept = edges[:-1] >= threshold
    ax = axes_or_new(ax, (6, 3))
    ax.bar(
        edges[:-1],
        counts,
        width=np.diff(edges),
        align="edge",
        edgecolor="white",
        linewidth=0.5,
        color=np.where(kept[:, None], np.asarray(to_rgb(KEPT_COLOR)), BELOW_COLOR),
    )
    threshold_line(ax, threshold)
    ax.set_xlabel("score")
    ax.set_ylabel("candidates")
    ax.set_title(f"{int((values >= threshold).sum())} of {values.size} kept at ≥ {threshold:.2f}")
    return ax


def faces_kept(scores: Iterable[float], threshold: float, *, ax: Axes | None = None) -> Axes:
    """How many candidates a threshold keeps (score ≥ threshold), over 0..1, with ``threshold`` marked:
    where the curve is flat, moving the threshold changes nothing."""
    values = np.sort(finite(scores))
    x = np.concatenate([[0.0], values, [1.0]])
    y = np.concatenate([[values.size], values.size - np.arange(values.size + 1)])  # y[i] holds on (x[i-1], x[i]]
    kept = int((values >= threshold).sum())
    ax = axes_or_new(ax, (6, 3))
    ax.plot(x, y, drawstyle="steps-pre", color=KEPT_COLOR, label="faces kept")
    threshold_line(ax, threshold)
    ax.plot([threshold], [kept], "o", color=THRESHOLD_COLOR, zorder=3)
    ax.set_ylim(bottom=0, top=max(1, values.size) * 1.05)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("confidence threshold")
    ax.set_ylabel("faces kept")
    ax.set_title(f"{plural(kept, 'face')} kept at ≥ {threshold:.2f}")
    return ax
