"""ipywidgets for tuning in a notebook: a confidence slider over cached detections, and a
``num_frames`` slider that only runs the frames not analysed yet, in the background.

Both are plain ``ipywidgets.VBox`` subclasses whose figures are rendered to PNG by matplotlib's
Agg backend (never pyplot's figure manager, so no stray copy shows under the widget), and work in
JupyterLab, VS Code and a headless test alike (no ipympl needed). Tests drive them by setting
slider values and reading ``count``, ``image`` and the counters.
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections import deque
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image

from . import plot
from .errors import InvalidInputError
from .limits import Limits
from .media import Video, frame_pixels, locate, open_media
from .media.sources import SourceLike
from .pipeline import detect
from .plot._style import plural
from .plot.evaluation import OUTCOME_COLORS, f1_curve, outcome_overlay, pr_curve
from .plot.pictures import shrunk
from .result import Result
from .table import BOX_COLUMNS, LANDMARK_COLUMNS, FaceTable

__all__ = [
    "CHUNK",
    "LABEL_STYLE",
    "MAX_LABELS",
    "STEP",
    "TRUTH_STEP",
    "FrameExplorer",
    "ThresholdExplorer",
    "TruthView",
    "nested_frames",
    "representable",
]

STEP = 0.05
TRUTH_STEP = 0.01
"""The slider's step with ground truth: fine enough to reach the F1-best threshold (see :func:`representable`)."""
MAX_LABELS = 40
"""Above this many faces the overlay drops the id/score tags: unreadable at widget size, and the
slowest part of a redraw."""
CHUNK = 4
"""Frames a FrameExplorer analyses between two updates of what it shows."""
LABEL_STYLE = {"description_width": "initial"}  # slider names in full ("num_frames", not "num_fram...")


class ThresholdExplorer(widgets.VBox):
    """A confidence slider (step 0.05) that re-filters a Result's cached candidates, never the model,
    and redraws the overlay, the kept-face count, the score histogram and the faces-kept curve.
    On a video, a frame picker moves over the analysed frames.

    With ``truth`` (anything :func:`facekit.evaluate` takes) the result is evaluated once; then the
    slider (step 0.01) colours the boxes by outcome at its threshold (true positives, false
    positives, missed faces dashed), reads out precision, recall and F1 (``metrics``, equal to
    ``evaluation.at(threshold)``), and the PR and F1 curves replace the histogram and faces-kept
    curve, marked at the threshold; the "best F1" button moves the slider to the F1-best threshold.
    """

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
        self.truth = None if truth is None else TruthView(self.base, truth)
        self.metrics: dict[str, float] = {}  # with truth: tp, fp, fn, precision, recall, f1 at the threshold
        self.update_ms = 0.0
        self.frame = self.base.frames[0] if self.base.frames else 0
        step = STEP if self.truth is None else TRUTH_STEP
        lowest = np.ceil(round(self.base.floor / step, 6)) * step
        self.slider = widgets.FloatSlider(
            value=max(self.base.confidence, lowest),
            min=lowest,
            max=1.0,
            step=step,
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
        self._drawing = threading.RLock()  # ipykernel 7 may handle two slider messages at once, on two threads
        self.best_button = widgets.Button(
            description="best F1", tooltip="move the slider to the threshold of the highest F1"
        )
        self.best_button.add_class("facekit-best-f1")
        self.best_button.on_click(lambda _: self.show_best())
        controls = widgets.HBox([self.slider, *([self.best_button] if self.truth else []), self.count])
        super().__init__([controls, self.frame_picker, self.image])
        self.slider.observe(self._changed, names="value")
        self.frame_picker.observe(self._picked, names="value")
        self._redraw(self.slider.value)

    def show_best(self) -> None:
        """Move the slider to the F1-best threshold (what the "best F1" button does)."""
        if self.truth is not None:
            self.slider.value = representable(*self.truth.best_span(), self.slider.step)

    def _changed(self, _: dict[str, Any]) -> None:
        """The slider moved: draw its value now (not the change's, which a later move may have replaced)."""
        with self._drawing:
            self._redraw(self.slider.value)

    def _picked(self, change: dict[str, Any]) -> None:
        """Another frame: its picture becomes the new background."""
        with self._drawing:
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
        """Show the picture, curves and readout at ``confidence``, one redraw at a time: two
        interleaved on the same axes would each draw the other's artists (a doubled legend)."""
        with self._drawing:
            self._draw(confidence)

    def _draw(self, confidence: float) -> None:
        started = time.perf_counter()
        threshold = round(confidence, 6)
        self.result = self.base.filter(confidence=threshold)
        faces = self.result.to_frame()
        thumbnail, scale = self._thumbnail(self.frame)
        here = faces[faces["frame"] == self.frame]
        picture_ax, top_ax, bottom_ax = self._axes
        first = not picture_ax.has_data()
        for ax in self._axes:
            _wipe(ax)
        size = (thumbnail.shape[1], thumbnail.shape[0]) if thumbnail is not None else _size(self.base, scale)
        picture = thumbnail if first else None
        if self.truth is None:
            plot.overlay(picture, _scaled(here, scale), ax=picture_ax, size=size, labels=len(here) <= MAX_LABELS)
            plot.score_histogram(self.scores, confidence, ax=top_ax)
            plot.faces_kept(self.scores, confidence, ax=bottom_ax)
        else:
            shown = self.truth.shown(self.frame, threshold)
            labels = len(shown) <= MAX_LABELS
            outcome_overlay(picture, _scaled(shown, scale), ax=picture_ax, size=size, labels=labels)
            pr_curve(self.truth.curve, threshold, ax=top_ax)
            if top_ax.legend_ is not None:  # the red dot is the threshold, as the F1 panel's key says
                top_ax.legend_.remove()
            f1_curve(self.truth.curve, threshold, ax=bottom_ax)
            self.metrics = self.truth.at(threshold)
        if self.base.is_video:
            outcomes = f" · {picture_ax.get_title()}" if self.truth is not None else ""
            picture_ax.set_title(f"frame {self.frame}: {plural(len(here), 'face')}{outcomes}")
        kept = len(self.result)
        text = f"<b>{kept}</b> {'face' if kept == 1 else 'faces'} kept at confidence ≥ {_decimals(threshold)}"
        if self.base.is_video:
            text += f" ({len(here)} in frame {self.frame}, {plural(len(self.base.frames), 'frame')} analysed)"
        if self.truth is not None:
            text += _metrics_text(self.metrics)
        self.image.value = self._render()
        self.count.value = text  # last: the count says the picture is ready
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


class TruthView:
    """A Result against ground truth for the explorer, computed once: the evaluation, its exact
    curve and every match with all candidates kept. A slider move only looks these up.

    COCO matches detections in order of descending score, so a detection's match never depends on
    lower-scoring ones: at threshold ``t`` the detections are those scoring at least ``t`` with
    the outcome they have with all kept, and a true face is found when the detection matching it
    scores at least ``t`` (else missed). That is what ``Evaluation.matches(threshold=t)`` returns
    (the tests check it at many thresholds), at a fraction of the cost."""

    def __init__(self, result: Result, truth: Any) -> None:
        from .evaluation import evaluate

        self.evaluation = evaluate(result, truth)
        self.curve = self.evaluation.curve()  # one row per distinct score, descending
        self._ascending = self.curve["threshold"].to_numpy(np.float64)[::-1]
        self._nothing = self.evaluation.at(math.inf)  # the figures with no candidate kept
        every = self.evaluation.matches(threshold=-math.inf)
        self._every = every.assign(kind=every["kind"].astype(str), outcome=every["outcome"].astype(str))
        self._frames: dict[int, pd.DataFrame] = {}

    def at(self, threshold: float) -> dict[str, float]:
        """TP, FP, FN, precision, recall and F1 keeping the candidates scoring at least ``threshold``
        (the curve's row for the lowest score at or above it): equal to ``evaluation.at(threshold)``."""
        kept = self._ascending.size - int(np.searchsorted(self._ascending, threshold, side="left"))
        row = self._nothing if kept == 0 else self.curve.iloc[kept - 1].to_dict()
        return {str(k): (int(v) if k in ("tp", "fp", "fn") else float(v)) for k, v in row.items()} | {
            "threshold": float(threshold)
        }

    def matches(self, frame: int, threshold: float) -> pd.DataFrame:
        """The rows of ``Evaluation.matches(threshold)`` in ``frame``: truth boxes and kept detections."""
        if frame not in self._frames:
            self._frames[frame] = self._every[self._every["frame"] == frame].reset_index(drop=True)
        rows = self._frames[frame]
        truth = (rows["kind"] == "truth").to_numpy()
        reached = (rows["score"] >= threshold).to_numpy(bool, na_value=False)
        missed = truth & (rows["outcome"] == "tp").to_numpy() & ~reached  # its detection is below the threshold
        rows = rows.assign(outcome=np.where(missed, "fn", rows["outcome"]))
        rows[["score", "iou", "partner"]] = rows[["score", "iou", "partner"]].mask(
            pd.Series(missed, rows.index), axis=0
        )
        return rows[truth | reached]

    def shown(self, frame: int, threshold: float) -> pd.DataFrame:
        """What the picture shows: the matches, less the truth boxes of true positives (under their detection)."""
        rows = self.matches(frame, threshold)
        return rows[~((rows["kind"] == "truth") & (rows["outcome"] == "tp"))]

    def best_span(self) -> tuple[float, float]:
        """The F1-best threshold (as ``summary()["best_f1_threshold"]``: the highest of the best) and
        the next lower candidate score (-inf if none): any threshold above that keeps the same candidates."""
        if not len(self.curve):
            return 1.0, -math.inf
        best = int(self.curve["f1"].to_numpy().argmax())
        lower = float(self.curve["threshold"].iloc[best + 1]) if best + 1 < len(self.curve) else -math.inf
        return float(self.curve["threshold"].iloc[best]), lower


def representable(high: float, low: float, step: float) -> float:
    """A threshold in (``low``, ``high``] with the fewest decimals: a multiple of ``step`` (where the
    slider can rest) when one fits, else 3 to 6 decimals, else ``high`` itself. Between two
    candidate scores every threshold keeps the same candidates, so it gives exactly ``high``'s figures."""
    for unit in (step, 1e-3, 1e-4, 1e-5, 1e-6):
        value = round(math.floor(round(high / unit, 6)) * unit, 6)
        if value > high:
            value = round(value - unit, 6)
        if low < value <= high:
            return value
    return high


def _decimals(threshold: float) -> str:
    """A threshold as the slider shows it (two decimals), with more where it has them."""
    return f"{threshold:.2f}" if abs(threshold - round(threshold, 2)) < 1e-9 else f"{threshold:.6g}"


def _metrics_text(metrics: dict[str, float]) -> str:
    """The readout against truth: counts with their box colours (the picture's key), precision, recall and F1."""
    key = " ".join(
        f"<span style='color:{to_hex(OUTCOME_COLORS[o])}'>{mark}</span> {o.upper()} {metrics[o]}"
        for o, mark in (("tp", "■"), ("fp", "■"), ("fn", "⬚"))
    )
    return (
        f" · {key} (missed faces dashed) · precision {metrics['precision']:.2f}, recall {metrics['recall']:.2f}, "
        f"<b>F1 {metrics['f1']:.2f}</b>"
    )


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
        found = locate(source, limits)  # a file stays where it is; the model reads it again per batch of frames
        media = open_media(found, limits)
        if not isinstance(media, Video):
            raise InvalidInputError("FrameExplorer needs a video; use ThresholdExplorer for a picture")
        self.video = media
        self._source = found
        self._width, self._background = width, background
        self._options = {"confidence": confidence, "progress": False, "limits": limits, **detect_options}
        self._table: FaceTable | None = (
            None  # every frame analysed so far, with the tracker's cues: the model runs once a frame
        )
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
        return sorted(self._times)

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
            missing = [i for i in nested_frames(self.video.frame_count, num_frames) if i not in self._times]
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
                    missing = [i for i in wanted if i not in self._times]
                    if not missing:
                        self._update(wanted)
                        self.status.value = ""
                        self._worker = None
                        return
                self.status.value = f"⏳ analysing {plural(len(missing), 'new frame')}…"
                self._analyse(missing[:CHUNK])
                self._update([i for i in wanted if i in self._times])
        except Exception as exc:  # shown in the widget, raised by wait()
            with self._lock:
                self.error, self._worker = exc, None
            self.status.value = f"<span style='color:#b00'>failed: {type(exc).__name__}: {exc}</span>"

    def _analyse(self, frames: list[int]) -> None:
        found = detect(self._source, frames=frames, **self._options)
        self.frames_detected += len(frames)
        self._meta = dict(found.meta)
        self._table = found.table if self._table is None else FaceTable.concat([self._table, found.table])
        self._times.update(zip(found.frames, found.table.frame_time.tolist()))

    def _update(self, indices: list[int]) -> None:
        """Rebuild the result over ``indices`` (tracked together), the counts, the track plot and the frame slider."""
        assert self._table is not None  # _update follows an _analyse
        meta = {**self._meta, "frames_analysed": len(indices)}
        self.result = Result.from_table(
            self._table.take_frames(indices), meta, confidence=self._options["confidence"], floor=self._meta["floor"]
        )
        frames = self.result.frames_table()
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
        if self.result is None or frame not in self._times:
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
    """What the plot functions draw on ``ax`` (not the picture, the axes or their ticks); the title last."""
    legend = [ax.legend_] if ax.legend_ is not None else []  # its labels name the threshold
    return [*ax.patches, *ax.lines, *ax.collections, *ax.texts, *legend, ax.title]


def _wipe(ax) -> None:
    """Remove what the plots drew on ``ax`` but keep the axes, their ticks and the picture:
    ``ax.clear()`` rebuilds every tick and cost a quarter of a slider update."""
    for artist in _drawn(ax)[:-1]:  # all but the title, which stays and is rewritten
        artist.remove()
    ax.set_prop_cycle(None)  # the plots' lines take the same default colours at every redraw


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
