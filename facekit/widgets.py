"""ipywidgets for tuning in a notebook: a confidence slider over cached detections, and a
``num_frames`` slider that only runs the frames not analysed yet, in the background.

Both are plain ``ipywidgets.VBox`` subclasses whose figures are rendered to PNG by matplotlib's
Agg backend (never pyplot's figure manager, so no stray copy shows under the widget), and work in
JupyterLab, VS Code and a headless test alike (no ipympl needed). Tests drive them by setting
slider values and reading ``count``, ``image`` and the counters.
"""

from __future__ import annotations

import io
import threading
import time
from collections import deque
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from . import plot
from .errors import InvalidInputError
from .limits import Limits
from .media import Video, decode, frame_pixels, read_source
from .media.sources import SourceLike
from .pipeline import detect
from .plot._style import plural
from .plot.pictures import shrunk
from .result import Result
from .table import BOX_COLUMNS, LANDMARK_COLUMNS

STEP = 0.05
MAX_LABELS = 40
"""Above this many faces the overlay drops the id/score tags: unreadable at widget size, and the
slowest part of a redraw."""
CHUNK = 4
"""Frames a FrameExplorer analyses between two updates of what it shows."""
LABEL_STYLE = {"description_width": "initial"}  # slider names in full ("num_frames", not "num_fram...")


class ThresholdExplorer(widgets.VBox):
    """A confidence slider (step 0.05) that re-filters a Result's cached candidates, never the model,
    and redraws the overlay, the kept-face count, the score histogram and the faces-kept curve.
    On a video, a frame picker moves over the analysed frames. With ``truth`` (anything
    :func:`facekit.evaluate` takes), precision and recall at the threshold are shown too."""

    def __init__(
        self,
        result_or_source: Result | SourceLike,
        *,
        truth: Any = None,
        width: int = 960,
        source: SourceLike | None = None,
        **detect_options: Any,
    ) -> None:
        self.base = (
            result_or_source if isinstance(result_or_source, Result) else detect(result_or_source, **detect_options)
        )
        self.result = self.base
        self.scores = self.base.candidates()["score"].to_numpy(np.float64)
        self._source = source
        self._width = width * 0.62  # the picture's share of the figure
        self._thumbnails: dict[int, tuple[np.ndarray | None, float]] = {}
        self._curve = _truth_curve(self.base, truth)
        self.update_ms = 0.0
        self.frame = self.base.frames[0] if self.base.frames else 0
        lowest = np.ceil(round(self.base.floor / STEP, 6)) * STEP
        self.slider = widgets.FloatSlider(
            value=max(self.base.confidence, lowest),
            min=lowest,
            max=1.0,
            step=STEP,
            description="confidence",
            continuous_update=True,
            readout_format=".2f",
            layout=widgets.Layout(width="60%"),
            style=LABEL_STYLE,
        )
        self.frame_picker = widgets.SelectionSlider(
            options=self.base.frames or [0],
            value=self.frame,
            description="frame",
            continuous_update=False,
            style=LABEL_STYLE,
            layout=widgets.Layout(width="60%", display="" if len(self.base.frames) > 1 else "none"),
        )
        self.frame_picker.add_class("facekit-frame-picker")
        self.count = widgets.HTML()
        self.count.add_class("facekit-count")
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{width}px"))
        self._figure = Figure(figsize=(width / 100, width / 100 * 0.42), dpi=100, layout="constrained")
        grid = self._figure.add_gridspec(2, 2, width_ratios=(1.7, 1))
        self._axes = (
            self._figure.add_subplot(grid[:, 0]),
            self._figure.add_subplot(grid[0, 1]),
            self._figure.add_subplot(grid[1, 1]),
        )
        self._canvas = FigureCanvasAgg(self._figure)
        self._background = None  # the picture, axes and ticks, drawn once per frame (see _render)
        super().__init__([widgets.HBox([self.slider, self.count]), self.frame_picker, self.image])
        self.slider.observe(self._changed, names="value")
        self.frame_picker.observe(self._picked, names="value")
        self._redraw(self.slider.value)

    def _changed(self, change: dict[str, Any]) -> None:
        self._redraw(change["new"])

    def _picked(self, change: dict[str, Any]) -> None:
        """Another frame: its picture becomes the new background."""
        self.frame = int(change["new"])
        self._axes[0].clear()
        self._background = None
        self._redraw(self.slider.value)

    def _thumbnail(self, frame: int) -> tuple[np.ndarray | None, float]:
        """The frame's pixels shrunk to the picture's width (None without a readable source), and the scale."""
        if frame not in self._thumbnails:
            pixels = self.base.pixels(frame, self._source)
            self._thumbnails[frame] = (None, 1.0) if pixels is None else _thumbnail(pixels, self._width)
        return self._thumbnails[frame]

    def _redraw(self, confidence: float) -> None:
        started = time.perf_counter()
        self.result = self.base.filter(confidence=round(confidence, 6))
        faces = self.result.to_frame()
        thumbnail, scale = self._thumbnail(self.frame)
        shown = _scaled(faces[faces["frame"] == self.frame], scale)
        picture_ax, histogram_ax, kept_ax = self._axes
        first = not picture_ax.has_data()
        for ax in self._axes:
            _wipe(ax)
        size = (thumbnail.shape[1], thumbnail.shape[0]) if thumbnail is not None else _size(self.base, scale)
        plot.overlay(thumbnail if first else None, shown, ax=picture_ax, size=size, labels=len(shown) <= MAX_LABELS)
        if self.base.is_video:
            picture_ax.set_title(f"frame {self.frame}: {plural(len(shown), 'face')}")
        plot.score_histogram(self.scores, confidence, ax=histogram_ax)
        plot.faces_kept(self.scores, confidence, ax=kept_ax)
        kept = len(self.result)
        text = f"<b>{kept}</b> {'face' if kept == 1 else 'faces'} kept at confidence ≥ {confidence:.2f}"
        if self.base.is_video:
            text += f" ({len(shown)} in frame {self.frame}, {plural(len(self.base.frames), 'frame')} analysed)"
        self.image.value = self._render()
        self.count.value = text + _truth_text(self._curve, confidence)  # last: the count says the picture is ready
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


def _truth_curve(result: Result, truth: Any) -> pd.DataFrame | None:
    """Precision and recall at every threshold against ``truth`` (None without truth)."""
    if truth is None:
        return None
    from .evaluation import evaluate

    return evaluate(result, truth).curve().sort_values("threshold").reset_index(drop=True)


def _truth_text(curve: pd.DataFrame | None, confidence: float) -> str:
    if curve is None or not len(curve):
        return ""
    at = curve[curve["threshold"] >= confidence - 1e-9]
    row = at.iloc[0] if len(at) else curve.iloc[-1]
    return f" · precision {row['precision']:.2f}, recall {row['recall']:.2f}"


class FrameExplorer(widgets.VBox):
    """A ``num_frames`` slider (1 to 100) over a video, a frame slider in source frame numbers and
    the face-track plot. Frames are sampled in a fixed coarse-to-fine order (:func:`nested_frames`),
    so more frames keep the ones already analysed; only frames never seen run the model, a few at
    a time in a background thread (``busy``, ``status``), and the view updates as they arrive."""

    def __init__(
        self,
        source: SourceLike,
        *,
        num_frames: int = 5,
        confidence: float = 0.5,
        width: int = 720,
        limits: Limits | None = None,
        background: bool = True,
        **detect_options: Any,
    ) -> None:
        limits = limits or Limits.from_env()
        loaded = read_source(source, limits)
        media = decode(loaded.data, limits) if loaded.data is not None else None
        if not isinstance(media, Video):
            raise InvalidInputError("FrameExplorer needs a video; use ThresholdExplorer for a picture")
        self.video = media
        self._data: bytes = loaded.data  # type: ignore[assignment]  # a Video is decoded from bytes
        self._width, self._background = width, background
        self._options = {"confidence": confidence, "progress": False, "limits": limits, **detect_options}
        self._candidates: dict[int, pd.DataFrame] = {}  # frame index -> its candidates, from the model once
        self._times: dict[int, float] = {}
        self._thumbnails: dict[int, tuple[np.ndarray, float]] = {}
        self._meta: dict[str, Any] = {}
        self._wanted = num_frames
        self._lock = threading.RLock()  # guards _wanted and _worker; held by _request while it runs in-line
        self._quiet = False  # True while _update moves the frame slider itself
        self._worker: threading.Thread | None = None
        self.error: BaseException | None = None
        self.frames_detected = 0  # frames sent to the model so far
        self.result: Result | None = None
        self.frames_slider = widgets.IntSlider(
            value=num_frames, min=1, max=100, description="num_frames", continuous_update=False, style=LABEL_STYLE
        )
        self.frame_slider = widgets.SelectionSlider(
            options=[0],
            value=0,
            description="frame",
            style=LABEL_STYLE,
            continuous_update=True,
            layout=widgets.Layout(width="60%"),
        )
        self.frames_slider.add_class("facekit-num-frames")
        self.frame_slider.add_class("facekit-frame-slider")
        self.count = widgets.HTML()
        self.count.add_class("facekit-count")
        self.status = widgets.HTML()
        self.status.add_class("facekit-status")
        self.picture = widgets.Image(format="png", layout=widgets.Layout(width=f"{width}px"))
        self.tracks = widgets.Image(format="png", layout=widgets.Layout(width=f"{width}px"))
        super().__init__(
            [widgets.HBox([self.frames_slider, self.count, self.status]), self.frame_slider, self.picture, self.tracks]
        )
        self.frames_slider.observe(lambda change: self._request(change["new"]), names="value")
        self.frame_slider.observe(lambda change: self._moved(change["new"]), names="value")
        self._request(num_frames)

    @property
    def analysed(self) -> list[int]:
        """Every frame index analysed so far (the cache), in order."""
        return sorted(self._candidates)

    @property
    def busy(self) -> bool:
        """True while frames are being analysed in the background."""
        return self._worker is not None and self._worker.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the background work is done (for scripts and tests); re-raise its error."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        if self.error is not None:
            raise self.error

    def _request(self, num_frames: int) -> None:
        """Show ``num_frames`` frames: at once from the cache, the rest analysed in the background."""
        with self._lock:
            self._wanted = num_frames
            if self.busy:
                return  # the running worker picks the new number up when its chunk is done
            missing = [i for i in nested_frames(self.video.frame_count, num_frames) if i not in self._candidates]
            if missing:
                self.status.value = f"⏳ analysing {plural(len(missing), 'new frame')}…"
            if not self._background:
                self._work()
                return
            self._worker = threading.Thread(target=self._work, name="facekit-frame-explorer", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        """Analyse the wanted frames not in the cache, CHUNK at a time, updating the view after each;
        the last check and update are made under the lock, so no request is left unserved."""
        try:
            while True:
                with self._lock:
                    wanted = nested_frames(self.video.frame_count, self._wanted)
                    missing = [i for i in wanted if i not in self._candidates]
                    if not missing:
                        self._update(wanted)
                        self.status.value = ""
                        self._worker = None
                        return
                self.status.value = f"⏳ analysing {plural(len(missing), 'new frame')}…"
                self._analyse(missing[:CHUNK])
                self._update([i for i in wanted if i in self._candidates])
        except Exception as exc:  # shown in the widget, raised by wait()
            with self._lock:
                self.error, self._worker = exc, None
            self.status.value = f"<span style='color:#b00'>failed: {type(exc).__name__}: {exc}</span>"

    def _analyse(self, frames: list[int]) -> None:
        found = detect(self._data, frames=frames, **self._options)
        self.frames_detected += len(frames)
        self._meta = dict(found.meta)
        candidates = found.candidates()
        table = found.frames_table()
        for frame, time_ in zip(table["frame"].tolist(), table["time"].tolist()):
            self._candidates[frame] = candidates[candidates["frame"] == frame]
            self._times[frame] = time_

    def _update(self, indices: list[int]) -> None:
        """Rebuild the result over ``indices`` (tracked together), the counts, the track plot and the frame slider."""
        table = pd.concat([self._candidates[i] for i in indices], ignore_index=True)
        frames = pd.DataFrame({"frame": indices, "time": [self._times[i] for i in indices]})
        meta = {**self._meta, "frames_analysed": len(indices)}
        self.result = Result(table, frames, meta, confidence=self._options["confidence"], floor=self._meta["floor"])
        faces = len(self.result)
        self.count.value = (
            f"<b>{faces}</b> {'face' if faces == 1 else 'faces'} in {plural(len(indices), 'frame')}, "
            f"{plural(self.result.tracks().shape[0], 'track')}"
        )
        figure = plot.track_positions(self.result.to_frame(), frames=frames)
        _detach(figure)
        figure.set_size_inches(self._width / 100, 3.6)
        self.tracks.value = _png(figure)
        current = self.frame_slider.value
        nearest = min(indices, key=lambda i: (abs(i - current), i))  # stays on the same frame if it is still shown
        self._quiet = True
        try:
            self.frame_slider.options = indices
            self.frame_slider.value = nearest
        finally:
            self._quiet = False
        self._show(nearest)

    def _moved(self, frame: int) -> None:
        if not self._quiet:
            self._show(frame)

    def _show(self, frame: int) -> None:
        if self.result is None or frame not in self._candidates:
            return
        if frame not in self._thumbnails:
            self._thumbnails[frame] = _thumbnail(frame_pixels(self.video, frame), self._width)
        thumbnail, scale = self._thumbnails[frame]
        faces = self.result.to_frame()
        removed = self.result.removed()
        figure = Figure(
            figsize=(self._width / 100, self._width / 100 * thumbnail.shape[0] / thumbnail.shape[1]),
            dpi=100,
            layout="constrained",
        )
        here = faces[faces["frame"] == frame]
        ax = plot.overlay(
            thumbnail,
            _scaled(here, scale),
            ax=figure.add_subplot(),
            removed=_scaled(removed[removed["frame"] == frame], scale),
        )
        ax.set_title(f"frame {frame} · t={self._times[frame]:.2f} s · {plural(len(here), 'face')}")
        self.picture.value = _png(figure)


def nested_frames(frame_count: int, count: int) -> list[int]:
    """``count`` frame indices (fewer if the video is shorter) from a fixed coarse-to-fine order:
    the first and last frames, then the middle of every gap, level by level. The frames for ``n``
    are always among those for ``n + 1``, so asking for more frames keeps every one analysed."""
    count = max(1, min(count, frame_count))
    order = [0] if frame_count == 1 else [0, frame_count - 1]
    gaps = deque([(0, frame_count - 1)])
    while len(order) < count and gaps:
        start, end = gaps.popleft()
        if end - start < 2:
            continue
        middle = (start + end) // 2
        order.append(middle)
        gaps.extend([(start, middle), (middle, end)])
    return sorted(order[:count])


def _detach(figure: Figure) -> None:
    """Take a figure a plot function made through pyplot out of pyplot's figure manager, so the
    notebook does not show a stale copy of it under the widget; it is drawn by Agg only."""
    import matplotlib.pyplot as plt

    plt.close(figure)
    FigureCanvasAgg(figure)


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
    small = shrunk(pixels, max(1, round(width * max(pixels.shape[:2]) / pixels.shape[1])))
    return small, small.shape[1] / pixels.shape[1]


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
