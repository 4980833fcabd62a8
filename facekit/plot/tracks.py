"""Tracks over time: positions, presence lanes, faces per frame."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._style import (
    KEPT_COLOR,
    analysed_frames,
    axes_or_new,
    frame_clock,
    per_track,
    plural,
    track_colors,
    track_ids,
    track_label,
    track_lines,
)


def track_positions(faces: pd.DataFrame, *, frames: pd.DataFrame | None = None) -> Figure:
    """Box centre x (top) and y (bottom) of each track against time, to see tracks move, swap or jump.

    Lines break where a track is missing from an analysed frame (``frames``; without it, the
    frames that have a face); faces without a track id are left out.
    """
    frames = analysed_frames(faces, frames)
    clock, xlabel = frame_clock(frames)
    tracks = track_ids(faces)
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 5), layout="constrained")
    for ax, centre, label in ((top, faces["x"] + faces["w"] / 2, "centre x (px)"),
                              (bottom, faces["y"] + faces["h"] / 2, "centre y (px)")):
        track_lines(ax, clock.to_numpy(), per_track(faces, frames, centre.to_numpy(float), tracks), tracks,
                     marker="o", markersize=3, linewidth=1.2)
        ax.set_ylabel(label)
    bottom.invert_yaxis()  # image rows grow downwards
    bottom.set_xlabel(xlabel)
    top.set_title(f"Track positions ({plural(len(tracks), 'track')})")
    if len(tracks):
        top.legend(fontsize="x-small", ncol=-(-len(tracks) // 16), loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


def presence_timeline(
    faces: pd.DataFrame,
    frames: pd.DataFrame | None = None,
    *,
    removed: pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Axes:
    """One lane per track with a mark at each analysed frame where it is present (gaps visible) and
    an 'x' where ``removed`` says it left, to check that tracks start, pause and end where they should."""
    frames = analysed_frames(faces, frames)
    clock, xlabel = frame_clock(frames)
    tracks = track_ids(faces, removed)
    ax = axes_or_new(ax, (8, max(2.0, 0.25 * len(tracks) + 1.2)))
    lanes = per_track(faces, frames, np.ones(len(faces)), tracks) * np.arange(len(tracks))
    track_lines(ax, clock.to_numpy(), lanes, tracks, marker="s", markersize=4, linewidth=3, solid_capstyle="butt")
    if removed is not None and len(removed):
        ax.scatter(removed["frame"].map(clock).to_numpy(float),
                   np.searchsorted(tracks, removed["track_id"].to_numpy(np.float64, na_value=np.nan)),
                   marker="x", s=40, c=track_colors(removed["track_id"]), zorder=3, label="removed")
    ax.set_yticks(np.arange(len(tracks)), [track_label(t) for t in tracks], fontsize="small")
    ax.set_ylim(max(len(tracks), 1) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("track")
    ax.set_title(f"Track presence ({plural(len(tracks), 'track')}, {plural(len(frames), 'frame')})")
    return ax


def face_count(faces: pd.DataFrame, frames: pd.DataFrame | None = None, *, ax: Axes | None = None) -> Axes:
    """Faces per analysed frame against time, frames without faces included (hence ``frames``)."""
    frames = analysed_frames(faces, frames)
    clock, xlabel = frame_clock(frames)
    counts = faces.groupby("frame").size().reindex(frames["frame"], fill_value=0)
    ax = axes_or_new(ax, (8, 3))
    ax.plot(clock.to_numpy(), counts.to_numpy(), marker="o", color=KEPT_COLOR, label="faces")
    ax.set_ylim(bottom=0, top=max(1, int(counts.max()) if len(counts) else 1) * 1.1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("faces")
    ax.set_title(f"Faces per analysed frame ({len(faces)} in {plural(len(frames), 'frame')})")
    return ax


# -- the confidence threshold --------------------------------------------------------------------
