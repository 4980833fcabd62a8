"""Tracks over time and space: positions, presence lanes (with each track's face), trajectories over a frame, faces per frame."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnnotationBbox, OffsetImage
from matplotlib.ticker import MaxNLocator

from ._style import (
    KEPT_COLOR,
    analysed_frames,
    axes_or_new,
    frame_clock,
    per_track,
    plural,
    track_color,
    track_colors,
    track_ids,
    track_label,
    track_lines,
)
from .gallery import Pictures, best_faces, crops, pixels_of_frames

__all__ = ["THUMBNAIL", "face_count", "presence_timeline", "track_positions", "trajectories"]

THUMBNAIL = 24
"""Side, in pixels (points at 72 dpi), of the face beside each timeline lane."""


def track_positions(faces: pd.DataFrame, *, frames: pd.DataFrame | None = None) -> Figure:
    """Box centre x (top) and y (bottom) of each track against time, to see tracks move, swap or jump.

    Lines break where a track is missing from an analysed frame (``frames``; without it, the
    frames that have a face); faces without a track id are left out.
    """
    frames = analysed_frames(faces, frames)
    clock, xlabel = frame_clock(frames)
    tracks = track_ids(faces)
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 5), layout="constrained")
    for ax, centre, label in (
        (top, faces["x"] + faces["w"] / 2, "centre x (px)"),
        (bottom, faces["y"] + faces["h"] / 2, "centre y (px)"),
    ):
        track_lines(
            ax,
            clock.to_numpy(),
            per_track(faces, frames, centre.to_numpy(float), tracks),
            tracks,
            marker="o",
            markersize=3,
            linewidth=1.2,
        )
        ax.set_ylabel(label)
        _end_labels(ax)
    bottom.invert_yaxis()  # image rows grow downwards
    bottom.set_xlabel(xlabel)
    top.set_title(f"Track positions ({plural(len(tracks), 'track')})")
    return figure


def _end_labels(ax: Axes) -> None:
    """Each track line's id written at its last point, in its colour (no legend to decode)."""
    for line in ax.lines:
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        shown = np.flatnonzero(np.isfinite(y))
        if shown.size:
            ax.annotate(str(line.get_label()), (x[shown[-1]], y[shown[-1]]), xytext=(3, 0), textcoords="offset points",
                        color=line.get_color(), fontsize="x-small", va="center", fontweight="bold")  # fmt: skip


def presence_timeline(
    faces: pd.DataFrame,
    frames: pd.DataFrame | None = None,
    *,
    removed: pd.DataFrame | None = None,
    pictures: Pictures | None = None,
    ax: Axes | None = None,
) -> Axes:
    """One lane per track with a mark at each analysed frame where it is present (gaps visible) and
    an 'x' where ``removed`` says it left, to check that tracks start, pause and end where they should.

    With ``pictures`` (frame -> pixels, or the source), each lane is labelled by its track's best
    face too; lanes keep a readable height however many tracks there are."""
    frames = analysed_frames(faces, frames)
    clock, xlabel = frame_clock(frames)
    tracks = track_ids(faces, removed)
    lane = 0.36 if pictures is not None else 0.25
    ax = axes_or_new(ax, (8, max(2.0, lane * len(tracks) + 1.2)))
    lanes = per_track(faces, frames, np.ones(len(faces)), tracks) * np.arange(len(tracks))
    track_lines(ax, clock.to_numpy(), lanes, tracks, marker="s", markersize=4, linewidth=3, solid_capstyle="butt")
    if removed is not None and len(removed):
        ax.scatter(
            removed["frame"].map(clock).to_numpy(float),
            np.searchsorted(tracks, removed["track_id"].to_numpy(np.float64, na_value=np.nan)),
            marker="x",
            s=40,
            c=track_colors(removed["track_id"]),
            zorder=3,
            label="removed",
        )
    ax.set_yticks(np.arange(len(tracks)), [track_label(t) for t in tracks], fontsize="small")
    for tick, track in zip(ax.get_yticklabels(), tracks):
        tick.set_color(track_color(track))
    ax.set_ylim(max(len(tracks), 1) - 0.5, -0.5)
    if pictures is not None:
        _lane_faces(ax, faces, tracks, pictures)
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


def _lane_faces(ax: Axes, faces: pd.DataFrame, tracks: np.ndarray, pictures: Pictures) -> None:
    """The best face of each track as a small picture just left of its lane (tick labels moved out)."""
    import cv2

    best = best_faces(faces)
    lanes = dict(zip(tracks.tolist(), range(len(tracks))))
    for track, image in zip(best["track_id"].tolist(), crops(best, pictures)):
        if image is None or int(track) not in lanes:
            continue
        thumb = cv2.resize(np.ascontiguousarray(image), (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA)
        box = AnnotationBbox(OffsetImage(thumb, zoom=1.0), (0.0, lanes[int(track)]), xybox=(-2.0, 0.0),
                             xycoords=("axes fraction", "data"), boxcoords="offset points", box_alignment=(1.0, 0.5),
                             frameon=True, pad=0.05, bboxprops={"edgecolor": track_color(track), "linewidth": 1.5})  # fmt: skip
        ax.add_artist(box)
    ax.tick_params(axis="y", pad=THUMBNAIL + 6)


def trajectories(
    faces: pd.DataFrame,
    pictures: Pictures | None = None,
    *,
    frame: int | None = None,
    tracks: Sequence[int] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Where the people of a frame went: each track's box centres joined in time order, drawn over
    ``frame`` (default the analysed frame with most faces), labelled with its id at its end, a dot
    at its start. ``tracks`` picks the tracks (default those in ``frame``: other shots' tracks
    would not fit its picture); ``pictures`` gives the frame's pixels (else a blank canvas)."""
    known = faces[faces["track_id"].notna()]
    if frame is None:
        frame = int(known["frame"].mode().min()) if len(known) else 0
    chosen = known.loc[known["frame"] == frame, "track_id"] if tracks is None else pd.Series(list(tracks))
    known = known[known["track_id"].isin(chosen)]
    pixels = pixels_of_frames(pictures, [frame]).get(frame) if pictures is not None else None
    ax = axes_or_new(ax, (8, 8 * pixels.shape[0] / pixels.shape[1] if pixels is not None else 4.5))
    if pixels is not None:
        ax.imshow(pixels)
    centre = known[["x", "y"]].to_numpy(float) + known[["w", "h"]].to_numpy(float) / 2
    for track, rows in known.groupby("track_id", sort=True).indices.items():
        path = centre[rows[np.argsort(known["frame"].to_numpy()[rows], kind="stable")]]
        color = track_color(track)
        ax.plot(path[:, 0], path[:, 1], color=color, linewidth=1.8, label=track_label(track))
        ax.plot(*path[0], "o", color=color, markersize=4)
        ax.annotate(track_label(track), path[-1], xytext=(2, 2), textcoords="offset points", fontsize="x-small",
                    color="white", fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": color, "edgecolor": "none", "alpha": 0.85})  # fmt: skip
    if pixels is None:
        ax.invert_yaxis()  # image rows grow downwards
        ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"Trajectories ({plural(known['track_id'].nunique(), 'track')}) over frame {frame}")
    return ax
