"""Who each track is: the best crop of every track with its id, colour, first and last time and frame count."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ._style import plural, track_color, track_label

__all__ = ["Pictures", "best_faces", "crops", "gallery", "pixels_of_frames"]

Pictures = Mapping[int, np.ndarray] | Callable[[int], "np.ndarray | None"] | Any
"""Frame pixels: a mapping or a function from frame index to RGB pixels, or any source facekit reads."""
MARGIN = 0.25
"""Context around a face in a crop, as a fraction of the box on each side."""


def best_faces(faces: pd.DataFrame) -> pd.DataFrame:
    """One row per track (ascending id): its most telling face (highest score x size), with the
    track's ``first_time``, ``last_time`` and ``n_frames`` (time: the frame index where unknown)."""
    known = faces[faces["track_id"].notna()].copy()
    if known.empty:
        return known.assign(first_time=[], last_time=[], n_frames=[])
    clock = known["time"].where(known["time"].notna(), known["frame"].astype(float))
    known["_merit"] = known["score"].fillna(0.5) * np.sqrt(known["w"] * known["h"])
    best = known.loc[known.groupby("track_id")["_merit"].idxmax()].drop(columns="_merit")
    spans = clock.groupby(known["track_id"]).agg(["min", "max"])
    best["first_time"] = spans["min"].reindex(best["track_id"]).to_numpy()
    best["last_time"] = spans["max"].reindex(best["track_id"]).to_numpy()
    best["n_frames"] = known.groupby("track_id")["frame"].nunique().reindex(best["track_id"]).to_numpy()
    return best.sort_values("track_id").reset_index(drop=True)


def pixels_of_frames(pictures: Pictures, frames: Iterable[int]) -> dict[int, np.ndarray]:
    """RGB pixels of each of ``frames`` that ``pictures`` can give (a source is opened once)."""
    wanted = sorted({int(f) for f in frames})
    if isinstance(pictures, np.ndarray):  # one picture: frame 0
        return {0: pictures}
    if isinstance(pictures, Mapping):
        return {f: pictures[f] for f in wanted if f in pictures}
    if callable(pictures):
        got = {f: pictures(f) for f in wanted}
        return {f: p for f, p in got.items() if p is not None}
    from ..media import Video, open_media  # deferred: plots of tables alone never decode

    media = open_media(pictures)
    if isinstance(media, Video):
        return {frame.index: frame.pixels for frame in media.sample([f for f in wanted if f < media.frame_count])}
    return {0: media.rgb()} if 0 in wanted else {}


def crops(faces: pd.DataFrame, pictures: Pictures, margin: float = MARGIN) -> list[np.ndarray | None]:
    """The crop of each face row (with ``margin`` of context), None where its frame has no pixels."""
    pixels = pixels_of_frames(pictures, faces["frame"])
    out: list[np.ndarray | None] = []
    for frame, x, y, w, h in faces[["frame", "x", "y", "w", "h"]].itertuples(index=False):
        picture = pixels.get(int(frame))
        if picture is None:
            out.append(None)
            continue
        x0, y0 = max(int(x - margin * w), 0), max(int(y - margin * h), 0)
        x1, y1 = min(int(x + (1 + margin) * w), picture.shape[1]), min(int(y + (1 + margin) * h), picture.shape[0])
        out.append(picture[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else None)
    return out


def gallery(
    faces: pd.DataFrame, pictures: Pictures, *, columns: int | None = None, size: float = 1.3, margin: float = MARGIN
) -> Figure:
    """A grid of the best crop of each track, framed in its colour, titled with its id and
    captioned with its first-last time and frame count; ``pictures`` gives the frames' pixels
    (a mapping or function frame -> pixels, or the source file). Readable with 30+ tracks."""
    best = best_faces(faces)
    count = len(best)
    columns = columns or max(1, min(count, math.ceil(math.sqrt(2 * count))))
    rows = max(1, math.ceil(count / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * 1.3 * rows + 0.4), squeeze=False,
                                layout="constrained")  # fmt: skip
    images = crops(best, pictures, margin)
    spans = zip(best["track_id"], best["first_time"].to_numpy(float), best["last_time"].to_numpy(float),
                best["n_frames"].to_numpy(np.int64))  # fmt: skip
    for ax, (track, first, last, count_frames), image in zip(axes.ravel(), spans, images):
        color = track_color(track)
        ax.imshow(image if image is not None else np.full((8, 8, 3), 200, np.uint8))
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color(color)
            spine.set_linewidth(3)
        ax.set_title(track_label(track), color=color, fontsize="small", fontweight="bold", pad=2)
        ax.set_xlabel(f"{_clock(first, faces)}-{_clock(last, faces)}\n{plural(int(count_frames), 'frame')}",
                      fontsize="x-small", labelpad=2)  # fmt: skip
    for ax in axes.ravel()[count:]:
        ax.set_axis_off()
    figure.suptitle(f"Track gallery ({plural(count, 'track')})", fontsize="medium")
    return figure


def _clock(value: float, faces: pd.DataFrame) -> str:
    """A time in seconds, or a frame index where the faces have no time."""
    return f"{value:.1f} s" if faces["time"].notna().any() else f"frame {int(value)}"
