"""ipywidgets for tuning in a notebook: a confidence slider over cached detections, and a
``num_frames`` slider that only runs the frames not analysed yet.

Both are plain ``ipywidgets.VBox`` subclasses whose figures are rendered to PNG by matplotlib's
Agg backend, so they work in JupyterLab, VS Code and a headless test alike (no ipympl needed).
Tests drive them by setting slider values and reading ``count``, ``image`` and the counters.
"""

from __future__ import annotations

import io
import time
from typing import Any

import cv2
import ipywidgets as widgets
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from . import plot
from .errors import InvalidInputError
from .table import BOX_COLUMNS, LANDMARK_COLUMNS
from .limits import Limits
from .media import Video, decode, frame_pixels, read_source
from .media.sources import SourceLike
from .pipeline import detect
from .result import Result

STEP = 0.05
MAX_LABELS = 40
"""Above this many faces the overlay drops the id/score tags: unreadable at widget size, and the
slowest part of a redraw."""


class ThresholdExplorer(widgets.VBox):
    """A confidence slider (step 0.05) that re-filters a Result's cached candidates, never the model,
    and redraws the overlay, the kept-face count, the score histogram and the faces-kept curve."""

    def __init__(self, result_or_source: Result | SourceLike, *, width: int = 960, **detect_options: Any) -> None:
        self.base = result_or_source if isinstance(result_or_source, Result) else detect(result_or_source, **detect_options)
        self.result = self.base
        self.scores = self.base.candidates()["score"].to_numpy(np.float64)
        picture = self.base._picture
        self._thumbnail, self._scale = _thumbnail(picture, width * 0.62) if picture is not None else (None, 1.0)
        self.update_ms = 0.0
        lowest = np.ceil(round(self.base.floor / STEP, 6)) * STEP
        self.slider = widgets.FloatSlider(
            value=max(self.base.confidence, lowest), min=lowest, max=1.0, step=STEP, description="confidence",
            continuous_update=True, readout_format=".2f", layout=widgets.Layout(width="60%"),
        )
        self.count = widgets.HTML()
        self.count.add_class("facekit-count")
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{width}px"))
        self._figure = Figure(figsize=(width / 100, width / 100 * 0.42), dpi=100, layout="constrained")
        grid = self._figure.add_gridspec(2, 2, width_ratios=(1.7, 1))
        self._axes = (self._figure.add_subplot(grid[:, 0]), self._figure.add_subplot(grid[0, 1]),
                      self._figure.add_subplot(grid[1, 1]))
        self._canvas = FigureCanvasAgg(self._figure)
        self._background = None  # the picture, axes and ticks, drawn once (see _render)
        super().__init__([widgets.HBox([self.slider, self.count]), self.image])
        self.slider.observe(self._changed, names="value")
        self._redraw(self.slider.value)

    def _changed(self, change: dict[str, Any]) -> None:
        self._redraw(change["new"])

    def _redraw(self, confidence: float) -> None:
        started = time.perf_counter()
        self.result = self.base.filter(confidence=round(confidence, 6))
        faces = self.result.to_frame()
        frame = self.result.frames[0]
        shown = _scaled(faces[faces["frame"] == frame], self._scale)
        picture_ax, histogram_ax, kept_ax = self._axes
        first = not picture_ax.has_data()
        for ax in self._axes:
            _wipe(ax)
        size = (self._thumbnail.shape[1], self._thumbnail.shape[0]) if self._thumbnail is not None else _size(self.base, self._scale)
        plot.overlay(self._thumbnail if first else None, shown, ax=picture_ax, size=size,
                     labels=len(shown) <= MAX_LABELS)
        plot.score_histogram(self.scores, confidence, ax=histogram_ax)
        plot.faces_kept(self.scores, confidence, ax=kept_ax)
        self.count.value = f"<b>{len(self.result)}</b> faces kept at confidence ≥ {confidence:.2f}"
        self.image.value = self._render()
        self.update_ms = (time.perf_counter() - started) * 1e3

    def _render(self) -> bytes:
        """The figure as PNG. The first time it is drawn whole (which also solves the layout); then
        only the artists the plots add are drawn, over a saved background of the picture, the axes
        and their ticks (matplotlib's blitting): ticks were half the cost of a slider update."""
        dynamic = sorted((artist for ax in self._axes for artist in _drawn(ax)), key=lambda a: a.get_zorder())
        if self._background is None:
            first = _png(self._figure)
            self._figure.set_layout_engine("none")
            for ax in self._axes:
                ax.set_xlim(ax.get_xlim())
                ax.set_ylim(ax.get_ylim())
                ax.set_autoscale_on(False)  # the background's ticks stay right
            for artist in dynamic:
                artist.set_visible(False)
            self._canvas.draw()
            self._background = self._canvas.copy_from_bbox(self._figure.bbox)
            for artist in dynamic:
                artist.set_visible(True)
            return first
        self._canvas.restore_region(self._background)
        for artist in dynamic:
            artist.axes.draw_artist(artist)
        return _encode(self._canvas)


class FrameExplorer(widgets.VBox):
    """A ``num_frames`` slider (1 to 100) over a video that analyses only frames not seen before
    (cached per frame index), a scrubber over the analysed frames, and the face-track plot."""

    def __init__(
        self,
        source: SourceLike,
        *,
        num_frames: int = 5,
        confidence: float = 0.5,
        width: int = 720,
        limits: Limits | None = None,
        **detect_options: Any,
    ) -> None:
        limits = limits or Limits.from_env()
        loaded = read_source(source, limits)
        media = decode(loaded.data, limits) if loaded.data is not None else None
        if not isinstance(media, Video):
            raise InvalidInputError("FrameExplorer needs a video; use ThresholdExplorer for a picture")
        self._data, self._video, self._width = loaded.data, media, width
        self._options = {"confidence": confidence, "progress": False, "limits": limits, **detect_options}
        self._candidates: dict[int, pd.DataFrame] = {}  # frame index -> its candidates, from the model once
        self._times: dict[int, float] = {}
        self._thumbnails: dict[int, tuple[np.ndarray, float]] = {}
        self._meta: dict[str, Any] = {}
        self.frames_detected = 0  # frames sent to the model so far
        self.result: Result | None = None
        self.frames_slider = widgets.IntSlider(value=num_frames, min=1, max=100, description="num_frames",
                                               continuous_update=False)
        self.scrubber = widgets.IntSlider(value=0, min=0, max=0, description="frame #", continuous_update=True)
        self.count = widgets.HTML()
        self.count.add_class("facekit-count")
        self.picture = widgets.Image(format="png", layout=widgets.Layout(width=f"{width}px"))
        self.tracks = widgets.Image(format="png", layout=widgets.Layout(width=f"{width}px"))
        super().__init__([widgets.HBox([self.frames_slider, self.count]), self.scrubber, self.picture, self.tracks])
        self.frames_slider.observe(lambda change: self._sample(change["new"]), names="value")
        self.scrubber.observe(lambda change: self._show(change["new"]), names="value")
        self._sample(num_frames)

    @property
    def analysed(self) -> list[int]:
        """Every frame index analysed so far (the cache), in order."""
        return sorted(self._candidates)

    def _sample(self, num_frames: int) -> None:
        indices = self._video.sample_indices(num_frames)
        missing = [i for i in indices if i not in self._candidates]
        if missing:
            found = detect(self._data, frames=missing, **self._options)
            self.frames_detected += len(missing)
            self._meta = found.meta
            candidates = found.candidates()
            for index, time_ in zip(found.frames, found._frame_time.tolist()):
                self._candidates[index] = candidates[candidates["frame"] == index]
                self._times[index] = time_
        table = pd.concat([self._candidates[i] for i in indices], ignore_index=True)
        frames = pd.DataFrame({"frame": indices, "time": [self._times[i] for i in indices]})
        meta = {**self._meta, "frames_analysed": len(indices)}
        self.result = Result(table, frames, meta, confidence=self._options["confidence"], floor=self._meta["floor"])
        self.count.value = f"<b>{len(self.result)}</b> faces in {len(indices)} frames, {self.result.tracks().shape[0]} tracks"
        figure = plot.track_positions(self.result.to_frame(), frames=frames)
        figure.set_size_inches(self._width / 100, 3.6)
        self.tracks.value = _png(figure)
        self.scrubber.max = len(indices) - 1
        self._show(min(self.scrubber.value, len(indices) - 1))

    def _show(self, position: int) -> None:
        frame = self.result.frames[position]
        if frame not in self._thumbnails:
            self._thumbnails[frame] = _thumbnail(frame_pixels(self._video, frame), self._width)
        thumbnail, scale = self._thumbnails[frame]
        faces = self.result.to_frame()
        removed = self.result.removed()
        figure = Figure(figsize=(self._width / 100, self._width / 100 * thumbnail.shape[0] / thumbnail.shape[1]),
                        dpi=100, layout="constrained")
        ax = plot.overlay(thumbnail, _scaled(faces[faces["frame"] == frame], scale), ax=figure.add_subplot(),
                          removed=_scaled(removed[removed["frame"] == frame], scale))
        ax.set_title(f"frame {frame} · t={self._times[frame]:.2f} s · {int((faces['frame'] == frame).sum())} faces")
        self.picture.value = _png(figure)


def _drawn(ax) -> list:
    """What the plot functions draw on ``ax`` (not the picture, the axes or their ticks)."""
    return [*ax.patches, *ax.lines, *ax.collections, *ax.texts, ax.title]


def _wipe(ax) -> None:
    """Remove what the plots drew on ``ax`` but keep the axes, their ticks and the picture:
    ``ax.clear()`` rebuilds every tick and cost a quarter of a slider update."""
    for artist in _drawn(ax)[:-1]:  # all but the title, which stays and is rewritten
        artist.remove()


def _thumbnail(pixels: np.ndarray, width: float) -> tuple[np.ndarray, float]:
    """``pixels`` shrunk to at most ``width`` columns (drawn fast), and the scale applied."""
    scale = min(1.0, width / pixels.shape[1])
    if scale == 1.0:
        return pixels, 1.0
    size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), scale


def _scaled(faces: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Face (or removed) rows with their pixel coordinates multiplied by ``scale``."""
    columns = [c for c in (*BOX_COLUMNS, *LANDMARK_COLUMNS) if c in faces]
    return faces.assign(**{c: faces[c] * scale for c in columns})


def _size(result: Result, scale: float) -> tuple[int | None, int | None]:
    width, height = result.meta.get("width"), result.meta.get("height")
    return (round(width * scale) if width else None, round(height * scale) if height else None)


def _png(figure: Figure) -> bytes:
    """The figure drawn once by Agg, as PNG bytes for an ``ipywidgets.Image``.

    Not ``savefig``, which drew every figure twice; and light compression, as zlib's default
    level took a third of each slider update.
    """
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    return _encode(canvas)


def _encode(canvas: FigureCanvasAgg) -> bytes:
    """What ``canvas`` holds, as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()
