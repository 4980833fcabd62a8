"""``result.plot`` and ``df.faces.plot``: one callable namespace of every face plot.

Calling it draws the overlay (``result.plot(frame=30)``); its methods draw the other views
(``result.plot.tracks()``, ``.timeline()``, ``.gallery()``, ``.trajectories()``, ``.counts()``,
``.scores()``, ``.kept()``, ``.contact_sheet()``). A Result and a face DataFrame hand it the same :class:`PlotData`, so
both offer the same plots with the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import InvalidInputError
from .gallery import Pictures, gallery, pixels_of_frames
from .pictures import contact_sheet, overlay
from .scores import faces_kept, score_histogram
from .tracks import face_count, presence_timeline, track_positions, trajectories

__all__ = ["PlotAliases", "PlotData", "Plots"]

PicturesOf = Callable[[Any], "Pictures | None"]
"""(a source the caller passed, or None) -> what to take frames' pixels from (a source, a mapping
of frame -> pixels, ...: see :data:`facekit.plot.gallery.Pictures`), or None when there is nothing."""


@dataclass(frozen=True)
class PlotData:
    """What the plots draw from, each computed only when a plot asks for it."""

    table: Callable[[], pd.DataFrame]  # faces plus removed rows, as ``Result.to_frame(removed=True)``
    frames: Callable[[], pd.DataFrame]  # the analysed frames (frame, time)
    pictures: PicturesOf
    scores: Callable[[], np.ndarray]  # every candidate's score
    confidence: float | None = None  # the threshold the faces were kept at, when known
    size: tuple[int | None, int | None] = (None, None)  # width, height of the media, when known


class Plots:
    """Every plot of a face table; call it for the overlay of one analysed frame."""

    def __init__(self, data: PlotData) -> None:
        self._data = data

    def __call__(self, frame: int | None = None, *, source: Any = None, ax: Axes | None = None, **style: Any) -> Axes:
        """The overlay of ``frame`` (default: the first analysed frame): boxes, the six landmarks,
        track/score labels and removed boxes, over that frame's pixels (decoded from ``source``,
        default the file the result came from; a blank canvas when there is none)."""
        return self.overlay(frame, source=source, ax=ax, **style)

    def overlay(self, frame: int | None = None, *, source: Any = None, ax: Axes | None = None, **style: Any) -> Axes:
        """Same as calling the namespace."""
        analysed = self._data.frames()["frame"].tolist()
        frame = (analysed[0] if analysed else 0) if frame is None else int(frame)
        if analysed and frame not in analysed:
            raise InvalidInputError(f"frame {frame} was not analysed; analysed frames: {_some(analysed)}")
        table = self._data.table()
        here = table["frame"] == frame
        removed = table["removed"] if "removed" in table else pd.Series(False, index=table.index)
        if isinstance(source, np.ndarray):  # the pixels of this frame, given as they are
            pixels: np.ndarray | None = source
        else:
            pictures = self._data.pictures(source)
            pixels = None if pictures is None else pixels_of_frames(pictures, [frame]).get(frame)
        return overlay(
            pixels, table[here & ~removed], removed=table[here & removed], ax=ax, size=self._data.size, **style
        )

    def tracks(self) -> Figure:
        """Box centre x and y against time, one line per track (a Figure of two axes)."""
        return track_positions(self._faces(), frames=self._data.frames())

    def timeline(self, *, source: Any = None, ax: Axes | None = None) -> Axes:
        """One lane per track over the analysed frames, gaps visible, removed events marked, each
        lane labelled by its track's best face when the pixels can be had."""
        table = self._data.table()
        removed = table[table["removed"]] if "removed" in table else None
        return presence_timeline(
            self._faces(table),
            self._data.frames(),
            removed=removed,
            pictures=self._pictures(source, required=False),
            ax=ax,
        )

    def gallery(
        self, source: Any = None, *, columns: int | None = None, size: float = 1.3, margin: float = 0.25
    ) -> Figure:
        """The best crop of each track with its id, colour, first/last time and frame count: who is who."""
        return gallery(self._faces(), self._pictures(source), columns=columns, size=size, margin=margin)

    def trajectories(
        self, frame: int | None = None, *, source: Any = None, tracks: Any = None, ax: Axes | None = None
    ) -> Axes:
        """Each track's path drawn over ``frame`` (default the analysed frame with most faces)."""
        return trajectories(self._faces(), self._pictures(source, required=False), frame=frame, tracks=tracks, ax=ax)

    def counts(self, *, ax: Axes | None = None) -> Axes:
        """Faces per analysed frame against time, frames without faces included."""
        return face_count(self._faces(), self._data.frames(), ax=ax)

    def scores(self, *, threshold: float | None = None, ax: Axes | None = None, bins: int = 20) -> Axes:
        """Histogram of every candidate's score with the threshold marked."""
        return score_histogram(self._data.scores(), self._threshold(threshold), ax=ax, bins=bins)

    def kept(self, *, threshold: float | None = None, ax: Axes | None = None) -> Axes:
        """Faces kept against threshold, from the cached candidates, with the threshold marked."""
        return faces_kept(self._data.scores(), self._threshold(threshold), ax=ax)

    def contact_sheet(
        self, source: Any = None, *, columns: int | None = None, size: float = 3.0, **style: Any
    ) -> Figure:
        """A grid of overlays, one panel per analysed frame, decoded from ``source`` (default:
        the file the result came from)."""
        table = self._data.table()
        removed = table["removed"] if "removed" in table else pd.Series(False, index=table.index)
        frames = self._data.frames()["frame"].tolist()
        pictures = pixels_of_frames(self._pictures(source), frames)
        if len(pictures) < len(frames):
            raise InvalidInputError("contact_sheet needs the picture or video: pass it as source=")
        return contact_sheet(pictures, table[~removed], removed=table[removed], columns=columns, size=size, **style)

    def _pictures(self, source: Any, *, required: bool = True) -> Pictures | None:
        """What gives the frames' pixels (``source``, else the result's own file or picture); None,
        or an error when ``required``, if there is nothing."""
        pictures = self._data.pictures(source)
        if pictures is None and required:
            raise InvalidInputError("this plot needs the picture or video: pass it as source=")
        return pictures

    def _faces(self, table: pd.DataFrame | None = None) -> pd.DataFrame:
        table = self._data.table() if table is None else table
        return table[~table["removed"]] if "removed" in table else table

    def _threshold(self, threshold: float | None) -> float:
        chosen = self._data.confidence if threshold is None else threshold
        if chosen is None:
            raise InvalidInputError("this table has no threshold of its own: pass threshold=")
        return float(chosen)


def _some(frames: list[int]) -> str:
    return ", ".join(map(str, frames[:10])) + (f", ... ({len(frames)} in all)" if len(frames) > 10 else "")


class PlotAliases:
    """The first round's plot method names, kept as aliases of the namespace's plots (a Result
    and ``df.faces`` both have them)."""

    @property
    def plot(self) -> Plots:
        """Every plot of this face table (each class that has the aliases says how)."""
        raise NotImplementedError

    def plot_tracks(self) -> Figure:
        """Alias of ``.plot.tracks()``."""
        return self.plot.tracks()

    def plot_timeline(self, *, ax: Axes | None = None) -> Axes:
        """Alias of ``.plot.timeline()``."""
        return self.plot.timeline(ax=ax)

    def plot_counts(self, *, ax: Axes | None = None) -> Axes:
        """Alias of ``.plot.counts()``."""
        return self.plot.counts(ax=ax)
