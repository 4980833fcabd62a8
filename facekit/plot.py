"""matplotlib drawings of face tables: overlays, contact sheets, track plots and threshold plots.

Every function takes DataFrames shaped like ``Result.to_frame()`` (faces), the analysed-frames
table (``frame``, ``time``) and ``Result.removed()``, and returns matplotlib objects; none knows
about :class:`facekit.Result`. A track keeps its colour (:func:`track_color`) in every plot.
Where pictures have no time (images: ``time`` is NaN), the x axis is the frame index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D, IdentityTransform

from .schema import LANDMARKS

TRACK_COLORS = plt.get_cmap("tab20").colors
_PALETTE = np.asarray(TRACK_COLORS)
REMOVED_COLOR = (0.55, 0.55, 0.55)
BELOW_COLOR = (0.75, 0.75, 0.75)
KEPT_COLOR = "C0"
THRESHOLD_COLOR = "C3"
LABEL_FONT = FontProperties(size=7)
LABEL_PAD = 1.0  # points around a label's text
_LANDMARK_X = [f"{name}_x" for name in LANDMARKS]
_LANDMARK_Y = [f"{name}_y" for name in LANDMARKS]

Picture = tuple[int, float, np.ndarray]
"""One contact-sheet panel: frame index, time in seconds (NaN if unknown), RGB pixels."""


# -- shared helpers ------------------------------------------------------------------------------


def _colors(track_ids: Iterable[Any]) -> np.ndarray:
    """(N, 3) RGB colours of ``track_ids`` (a missing id gets the first colour), in one numpy step."""
    ids = pd.array(list(track_ids), dtype="Int64").fillna(0).to_numpy(np.int64)
    return _PALETTE[ids % len(_PALETTE)].reshape(-1, 3)


def track_color(track_id: Any) -> tuple[float, float, float]:
    """The colour of a track: the same id gets the same colour in every plot."""
    return tuple(_colors([track_id])[0].tolist())


def _track_label(track_id: Any) -> str:
    return "" if pd.isna(track_id) else f"#{int(track_id)}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the Axes of a new figure of ``figsize`` inches."""
    return plt.subplots(figsize=figsize, layout="constrained")[1] if ax is None else ax


def _analysed(faces: pd.DataFrame, frames: pd.DataFrame | None) -> pd.DataFrame:
    """The analysed frames (``frame``, ``time``) in order; without ``frames``, those that have a face."""
    table = faces if frames is None else frames
    return table[["frame", "time"]].drop_duplicates("frame").sort_values("frame").reset_index(drop=True)


def _clock(frames: pd.DataFrame) -> tuple[pd.Series, str]:
    """Frame index -> x position (time in seconds, or the frame index where there is no time), and the x label."""
    if frames["time"].notna().any():
        return pd.Series(frames["time"].to_numpy(float), index=frames["frame"]), "time (s)"
    return pd.Series(frames["frame"].to_numpy(float), index=frames["frame"]), "frame"


def _track_ids(*tables: pd.DataFrame | None) -> np.ndarray:
    """The distinct track ids (missing ones left out) of ``tables``, ascending."""
    ids = [t["track_id"].dropna().to_numpy(np.int64) for t in tables if t is not None and len(t)]
    return np.unique(np.concatenate(ids)) if ids else np.empty(0, np.int64)


def _per_track(faces: pd.DataFrame, frames: pd.DataFrame, values: np.ndarray, tracks: np.ndarray) -> np.ndarray:
    """``values`` (one per face row) as an (analysed frames x ``tracks``) matrix, NaN where a track is absent."""
    matrix = np.full((len(frames), len(tracks)), np.nan)
    known = faces["track_id"].notna().to_numpy() & faces["frame"].isin(frames["frame"]).to_numpy()
    rows = np.searchsorted(frames["frame"].to_numpy(), faces["frame"].to_numpy()[known])
    columns = np.searchsorted(tracks, faces["track_id"].to_numpy(np.float64, na_value=np.nan)[known])
    matrix[rows, columns] = np.asarray(values, dtype=float)[known]
    return matrix


def _track_lines(ax: Axes, xs: np.ndarray, matrix: np.ndarray, tracks: np.ndarray, **style: Any) -> None:
    """One line per track from its first to its last analysed frame, broken (NaN) where it is absent."""
    for column, track in enumerate(tracks):
        present = np.flatnonzero(~np.isnan(matrix[:, column]))
        span = slice(present[0], present[-1] + 1)
        ax.plot(xs[span], matrix[span, column], color=track_color(track), label=_track_label(track), **style)


def _boxes(ax: Axes, boxes: pd.DataFrame, colors: np.ndarray, linewidth: float, **style: Any) -> None:
    """All ``boxes`` (x, y, w, h rows) as one collection of rectangles."""
    x, y, w, h = (boxes[c].to_numpy(float) for c in ("x", "y", "w", "h"))
    corners = np.stack([np.column_stack([x, y]), np.column_stack([x + w, y]),
                        np.column_stack([x + w, y + h]), np.column_stack([x, y + h])], axis=1)
    ax.add_collection(PolyCollection(corners, closed=True, facecolors="none", edgecolors=colors,
                                     linewidths=linewidth, **style), autolim=False)


@lru_cache(maxsize=4096)
def _label_paths(text: str) -> tuple[Path, Path]:
    """``text`` as glyph outlines in points, and the padded box behind them, both from (0, 0) upwards."""
    glyphs = TextPath((0, 0), text, prop=LABEL_FONT)
    drawn = glyphs.vertices[glyphs.codes != Path.CLOSEPOLY]  # control points: Path.get_extents is 10x slower
    (left, low), (right, top) = drawn.min(axis=0), drawn.max(axis=0)
    bottom = min(low, 0.0)  # the baseline, or below it for descenders
    glyphs = glyphs.transformed(Affine2D().translate(LABEL_PAD - left, LABEL_PAD - bottom))
    width, height = right - left + 2 * LABEL_PAD, top - bottom + 2 * LABEL_PAD
    return glyphs, Path([(0, 0), (width, 0), (width, height), (0, height), (0, 0)], closed=True)


def _labels(ax: Axes, boxes: pd.DataFrame, texts: list[str], colors: np.ndarray) -> None:
    """A tag above the top-left corner of each box: white text on its (N, 3) ``colors``.

    The glyphs are outlines drawn like scatter markers (sizes in points, offsets in data), two
    collections in all: a hundred matplotlib Text artists with boxes take ~200 ms to draw.
    """
    shown = [i for i, text in enumerate(texts) if text]
    if not shown:
        return
    glyphs, backs = zip(*(_label_paths(texts[i]) for i in shown))
    offsets = boxes[["x", "y"]].to_numpy(float)[shown]
    backing = np.column_stack([colors[shown], np.full(len(shown), 0.8)])
    for paths, face, zorder in ((backs, backing, 4), (glyphs, "white", 5)):
        ax.add_collection(PathCollection(list(paths), sizes=[1.0], offsets=offsets, offset_transform=ax.transData,
                                         transform=IdentityTransform(), facecolors=face, linewidths=0,
                                         zorder=zorder), autolim=False)


def _finite(scores: Iterable[float]) -> np.ndarray:
    """The known scores (NaN dropped), as floats clipped to 0..1."""
    values = np.asarray(scores, dtype=float).ravel()
    return np.clip(values[~np.isnan(values)], 0.0, 1.0)


def _threshold_line(ax: Axes, threshold: float) -> None:
    ax.axvline(threshold, color=THRESHOLD_COLOR, linestyle="--", linewidth=1.2, label=f"threshold {threshold:.2f}")
    ax.set_xlim(0.0, 1.0)


# -- pictures ------------------------------------------------------------------------------------


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
) -> Axes:
    """Draw ``faces`` (rows of ``Result.to_frame()``) over ``image``; without an image, on a blank
    canvas of ``size`` (width, height). ``removed`` rows (tracks gone at this frame) are drawn as
    dashed grey boxes. Boxes, landmarks and removed boxes are one collection each, for fast redraws."""
    ax = _axes(ax, (8, 6))
    if image is not None:
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        ax.set_xlim(ax.get_xlim())  # the picture's extent: boxes partly outside it must not widen the view
        ax.set_ylim(ax.get_ylim())
    else:
        width, height = size
        ax.set_xlim(0, width or max(1.0, float((faces["x"] + faces["w"]).max() if len(faces) else 1)))
        ax.set_ylim(height or max(1.0, float((faces["y"] + faces["h"]).max() if len(faces) else 1)), 0)
        ax.set_aspect("equal")
    colors = _colors(faces["track_id"])
    _boxes(ax, faces, colors, linewidth)
    if landmarks and len(faces):
        ax.scatter(faces[_LANDMARK_X].to_numpy(float).ravel(), faces[_LANDMARK_Y].to_numpy(float).ravel(),
                   s=6, c=np.repeat(colors, len(LANDMARKS), axis=0), linewidths=0, zorder=3)
    if labels:
        texts = [
            f"{_track_label(track)}{'' if pd.isna(score) else f' {score:.2f}'}".strip()
            for track, score in zip(faces["track_id"], faces["score"])
        ]
        _labels(ax, faces, texts, colors)
    if removed is not None and len(removed):
        grey = np.tile(REMOVED_COLOR, (len(removed), 1))
        _boxes(ax, removed, grey, linewidth, linestyles="--")
        if labels:
            _labels(ax, removed, [f"removed {_track_label(t)}".strip() for t in removed["track_id"]], grey)
    ax.set_axis_off()
    ax.set_title(_plural(len(faces), "face"))
    return ax


def _pictures(pictures: Mapping[int, np.ndarray] | Iterable[Picture], faces: pd.DataFrame) -> list[Picture]:
    """(frame, time, pixels) panels in frame order; a mapping takes each frame's time from ``faces``."""
    if isinstance(pictures, Mapping):
        times = faces.groupby("frame")["time"].first()
        return [(int(f), float(times.get(f, np.nan)), np.asarray(p)) for f, p in sorted(pictures.items())]
    return sorted(((int(f), float(t), np.asarray(p)) for f, t, p in pictures), key=lambda panel: panel[0])


def contact_sheet(
    pictures: Mapping[int, np.ndarray] | Iterable[Picture],
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
    for spare in axes[len(panels):]:
        figure.delaxes(spare)
    for ax, (frame, time, pixels) in zip(axes, panels):
        shown = faces[faces["frame"] == frame]
        gone = None if removed is None else removed[removed["frame"] == frame]
        overlay(pixels, shown, ax=ax, removed=gone, **style)
        clock = "" if np.isnan(time) else f" · t={time:.2f} s"
        ax.set_title(f"frame {frame}{clock} · {_plural(len(shown), 'face')}" if titles else "", fontsize="small")
    return figure


# -- tracks over time ----------------------------------------------------------------------------


def track_positions(faces: pd.DataFrame, *, frames: pd.DataFrame | None = None) -> Figure:
    """Box centre x (top) and y (bottom) of each track against time, to see tracks move, swap or jump.

    Lines break where a track is missing from an analysed frame (``frames``; without it, the
    frames that have a face); faces without a track id are left out.
    """
    frames = _analysed(faces, frames)
    clock, xlabel = _clock(frames)
    tracks = _track_ids(faces)
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 5), layout="constrained")
    for ax, centre, label in ((top, faces["x"] + faces["w"] / 2, "centre x (px)"),
                              (bottom, faces["y"] + faces["h"] / 2, "centre y (px)")):
        _track_lines(ax, clock.to_numpy(), _per_track(faces, frames, centre.to_numpy(float), tracks), tracks,
                     marker="o", markersize=3, linewidth=1.2)
        ax.set_ylabel(label)
    bottom.invert_yaxis()  # image rows grow downwards
    bottom.set_xlabel(xlabel)
    top.set_title(f"Track positions ({_plural(len(tracks), 'track')})")
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
    frames = _analysed(faces, frames)
    clock, xlabel = _clock(frames)
    tracks = _track_ids(faces, removed)
    ax = _axes(ax, (8, max(2.0, 0.25 * len(tracks) + 1.2)))
    lanes = _per_track(faces, frames, np.ones(len(faces)), tracks) * np.arange(len(tracks))
    _track_lines(ax, clock.to_numpy(), lanes, tracks, marker="s", markersize=4, linewidth=3, solid_capstyle="butt")
    if removed is not None and len(removed):
        ax.scatter(removed["frame"].map(clock).to_numpy(float),
                   np.searchsorted(tracks, removed["track_id"].to_numpy(np.float64, na_value=np.nan)),
                   marker="x", s=40, c=_colors(removed["track_id"]), zorder=3, label="removed")
    ax.set_yticks(np.arange(len(tracks)), [_track_label(t) for t in tracks], fontsize="small")
    ax.set_ylim(max(len(tracks), 1) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("track")
    ax.set_title(f"Track presence ({_plural(len(tracks), 'track')}, {_plural(len(frames), 'frame')})")
    return ax


def face_count(faces: pd.DataFrame, frames: pd.DataFrame | None = None, *, ax: Axes | None = None) -> Axes:
    """Faces per analysed frame against time, frames without faces included (hence ``frames``)."""
    frames = _analysed(faces, frames)
    clock, xlabel = _clock(frames)
    counts = faces.groupby("frame").size().reindex(frames["frame"], fill_value=0)
    ax = _axes(ax, (8, 3))
    ax.plot(clock.to_numpy(), counts.to_numpy(), marker="o", color=KEPT_COLOR, label="faces")
    ax.set_ylim(bottom=0, top=max(1, int(counts.max()) if len(counts) else 1) * 1.1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("faces")
    ax.set_title(f"Faces per analysed frame ({len(faces)} in {_plural(len(frames), 'frame')})")
    return ax


# -- the confidence threshold --------------------------------------------------------------------


def score_histogram(scores: Iterable[float], threshold: float, *, ax: Axes | None = None, bins: int = 20) -> Axes:
    """Histogram of candidate scores (0..1; NaN left out), bars at or above ``threshold`` in colour and
    below it in grey, with the threshold as a dashed line; the bin holding the threshold is split there."""
    values = _finite(scores)
    edges = np.union1d(np.linspace(0.0, 1.0, bins + 1), [min(max(threshold, 0.0), 1.0)])
    counts, _ = np.histogram(values, bins=edges)
    kept = edges[:-1] >= threshold
    ax = _axes(ax, (6, 3))
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", edgecolor="white", linewidth=0.5,
           color=np.where(kept[:, None], np.asarray(to_rgb(KEPT_COLOR)), BELOW_COLOR))
    _threshold_line(ax, threshold)
    ax.set_xlabel("score")
    ax.set_ylabel("candidates")
    ax.set_title(f"{int((values >= threshold).sum())} of {values.size} kept at ≥ {threshold:.2f}")
    return ax


def faces_kept(scores: Iterable[float], threshold: float, *, ax: Axes | None = None) -> Axes:
    """How many candidates a threshold keeps (score ≥ threshold), over 0..1, with ``threshold`` marked:
    where the curve is flat, moving the threshold changes nothing."""
    values = np.sort(_finite(scores))
    x = np.concatenate([[0.0], values, [1.0]])
    y = np.concatenate([[values.size], values.size - np.arange(values.size + 1)])  # y[i] holds on (x[i-1], x[i]]
    kept = int((values >= threshold).sum())
    ax = _axes(ax, (6, 3))
    ax.plot(x, y, drawstyle="steps-pre", color=KEPT_COLOR, label="faces kept")
    _threshold_line(ax, threshold)
    ax.plot([threshold], [kept], "o", color=THRESHOLD_COLOR, zorder=3)
    ax.set_ylim(bottom=0, top=max(1, values.size) * 1.05)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("confidence threshold")
    ax.set_ylabel("faces kept")
    ax.set_title(f"{_plural(kept, 'face')} kept at ≥ {threshold:.2f}")
    return ax
