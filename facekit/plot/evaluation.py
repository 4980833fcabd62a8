"""Evaluation plots: the precision/recall curve, F1 against threshold, the error gallery and an
overlay coloured by outcome (true positive, false positive, missed face, ignore region)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from ..crops import crop_regions
from ..errors import InvalidInputError
from ._style import THRESHOLD_COLOR, axes_or_new, draw_boxes, draw_labels, threshold_line
from .pictures import overlay

if TYPE_CHECKING:
    from ..evaluation import Evaluation

__all__ = [
    "OUTCOME_COLORS",
    "OUTCOME_NAMES",
    "EvaluationPlots",
    "curve_row",
    "error_gallery",
    "f1_curve",
    "outcome_overlay",
    "pr_curve",
]

OUTCOME_COLORS = {"tp": "tab:green", "fp": "tab:red", "fn": "tab:orange", "ignore": "0.6", "ignored": "0.6"}
OUTCOME_NAMES = {
    "tp": "true positive",
    "fp": "false positive",
    "fn": "missed",
    "ignore": "ignore region",
    "ignored": "on an ignore region",
}


def curve_row(curve: pd.DataFrame, threshold: float) -> pd.Series | None:
    """The curve's row for keeping the candidates scoring at least ``threshold`` (None: nothing kept)."""
    at = curve[curve["threshold"] >= threshold]
    return None if at.empty else at.iloc[-1]


def pr_curve(curve: pd.DataFrame, threshold: float, *, ax: Axes | None = None) -> Axes:
    """Precision against recall over every candidate threshold, the current ``threshold`` marked."""
    ax = axes_or_new(ax, (5, 4))
    ax.step(curve["recall"], curve["precision"], where="post", color="C0", label="every threshold")
    row = curve_row(curve, threshold)
    recall, precision = (0.0, 1.0) if row is None else (float(row["recall"]), float(row["precision"]))
    ax.plot([recall], [precision], "o", color=THRESHOLD_COLOR, label=f"threshold {threshold:.2f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02), title="precision / recall")
    ax.legend(loc="lower left")
    return ax


def f1_curve(curve: pd.DataFrame, threshold: float, *, ax: Axes | None = None) -> Axes:
    """F1, precision and recall against the threshold, the current one and the F1-best one marked."""
    ax = axes_or_new(ax, (5, 4))
    for column, style in (("f1", "-"), ("precision", ":"), ("recall", "--")):
        ax.step(curve["threshold"], curve[column], where="post", linestyle=style, label=column)
    if len(curve):
        best = curve.iloc[int(curve["f1"].to_numpy().argmax())]
        ax.plot(
            [best["threshold"]],
            [best["f1"]],
            "*",
            markersize=10,
            color="C2",
            label=f"best F1 {best['f1']:.3f} at {best['threshold']:.2f}",
        )
    threshold_line(ax, threshold)
    ax.set(xlabel="threshold (confidence_score)", ylim=(0, 1.02), title="F1 against threshold")
    ax.legend(loc="lower left", fontsize="small")
    return ax


def error_gallery(crops: list[tuple[np.ndarray, str, str]], *, columns: int = 6, size: float = 1.6) -> Figure:
    """A grid of (pixels, title, outcome) crops, each framed in its outcome's colour."""
    columns = max(1, min(columns, len(crops) or 1))
    rows = max(1, -(-len(crops) // columns))
    figure = plt.figure(figsize=(columns * size, rows * (size + 0.3)), layout="constrained")
    if not crops:
        figure.text(0.5, 0.5, "no errors", ha="center", va="center")
        return figure
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (pixels, title, outcome) in zip(axes, crops):
        ax.imshow(pixels)
        ax.set_title(title, fontsize="small", color=OUTCOME_COLORS[outcome])
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set(color=OUTCOME_COLORS[outcome], linewidth=3)
    for spare in axes[len(crops) :]:
        figure.delaxes(spare)
    return figure


def outcome_overlay(
    picture: np.ndarray | None,
    matches: pd.DataFrame,
    *,
    ax: Axes | None = None,
    size: tuple[int | None, int | None] = (None, None),
    linewidth: float = 1.5,
    labels: bool = True,
) -> Axes:
    """``matches`` rows (of one picture) over ``picture``, coloured by outcome, missed faces and ignore
    regions dashed, detections labelled with their score (``labels=False``: no tags)."""
    blank = pd.DataFrame({c: pd.Series(dtype=float) for c in ("x", "y", "w", "h", "score")}).assign(
        track_id=pd.Series(dtype="Int64")
    )
    ax = overlay(picture, blank, ax=ax, size=size, labels=False, landmarks=False)
    colors = np.array([to_rgb(OUTCOME_COLORS[o]) for o in matches["outcome"]]).reshape(-1, 3)
    dashed = (matches["outcome"].isin(["fn", "ignore", "ignored"])).to_numpy()
    draw_boxes(ax, matches[~dashed], colors[~dashed], linewidth)
    draw_boxes(ax, matches[dashed], colors[dashed], linewidth, linestyles="--")
    texts = [o.upper() if pd.isna(s) else f"{o.upper()} {s:.2f}" for o, s in zip(matches["outcome"], matches["score"])]
    if labels:
        draw_labels(ax, matches, texts, colors, priority=matches["score"].to_numpy(float, na_value=np.nan))
    counts = matches["outcome"].value_counts()
    ax.set_title(" · ".join(f"{counts.get(o, 0)} {o.upper()}" for o in ("tp", "fp", "fn")))
    return ax


class EvaluationPlots:
    """``ev.plot``: ``pr()``, ``f1()``, ``errors(source)``, ``overlay(frame=, source=)``."""

    def __init__(self, evaluation: Evaluation) -> None:
        self._ev = evaluation

    def pr(self, *, ax: Axes | None = None) -> Axes:
        """Precision against recall at every candidate threshold, the result's threshold marked."""
        return pr_curve(self._ev.curve(), self._ev.threshold, ax=ax)

    def f1(self, *, ax: Axes | None = None) -> Axes:
        """F1 (and precision, recall) against threshold, the result's and the F1-best thresholds marked."""
        return f1_curve(self._ev.curve(), self._ev.threshold, ax=ax)

    def errors(
        self, source: Any = None, *, count: int = 12, threshold: float | None = None, columns: int = 6
    ) -> Figure:
        """Crops of the ``count`` worst errors at ``threshold``: false positives by descending score,
        then missed faces by descending size, decoded again from ``source`` (default: the file
        the result was detected from; a Batch's sources are read from their own paths)."""
        table = self._ev.matches(threshold)
        fp = table[table["outcome"] == "fp"].sort_values("score", ascending=False)
        fn = table[table["outcome"] == "fn"].sort_values("size", ascending=False)
        worst = pd.concat([fp.head(count - min(len(fn), count // 2)), fn]).head(count)
        crops = []
        for key in worst[["source", "frame"]].drop_duplicates().itertuples(index=False):
            name, frame = str(key[0]), int(key[1])
            rows = worst[(worst["source"] == name) & (worst["frame"] == frame)]
            pixels = self._pixels(source, name, frame)
            boxes = rows[["x", "y", "w", "h"]].to_numpy(float)
            regions = crop_regions(boxes, pixels.shape[1], pixels.shape[0]).astype(int)
            scores = rows["score"].to_numpy(float, na_value=np.nan)
            for (x, y, w, h), box, score, outcome in zip(regions, boxes, scores, rows["outcome"].astype(str)):
                shown = "" if np.isnan(score) else f" {score:.2f}"
                crops.append((pixels[y : y + h, x : x + w], f"{outcome.upper()}{shown} · {box[3]:.0f} px", outcome))
        return error_gallery(crops, columns=columns)

    def overlay(
        self,
        frame: int = 0,
        *,
        source: Any = None,
        name: str | None = None,
        ax: Axes | None = None,
        threshold: float | None = None,
    ) -> Axes:
        """One picture (or video ``frame``) with its truth and detections coloured TP, FP, FN;
        ``name`` picks the file of a Batch."""
        table = self._ev.matches(threshold)
        names = table["source"].dropna().unique()
        name = name if name is not None else (str(names[0]) if len(names) else "")
        here = table[(table["source"] == name) & (table["frame"] == frame)]
        shown = here[~((here["kind"] == "truth") & (here["outcome"] == "tp"))]  # a TP's truth box hides under it
        return outcome_overlay(self._pixels(source, name, frame), shown, ax=ax)

    def _pixels(self, source: Any, name: str, frame: int) -> np.ndarray:
        from ..media import frame_pixels

        given = source if source is not None else self._ev.source_of(name)
        if given is None:
            raise InvalidInputError("these plots need the pictures: pass source= (the picture or video)")
        return frame_pixels(given, frame)
