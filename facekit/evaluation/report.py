"""``fk.evaluate``: detections (every candidate) against ground truth, as curve, summary and matches."""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .inputs import Detected, aligned, detected, truth_for
from .matching import COCO_IOUS, Matches, average_precision, match, pairs, ranking
from .tracking import has_identities, tracking_metrics

__all__ = ["HEIGHTS", "HEIGHT_LABELS", "Evaluation", "evaluate"]

HEIGHTS = (0.0, 16.0, 32.0, 64.0, 128.0, math.inf)
HEIGHT_LABELS = ("<16", "16-32", "32-64", "64-128", ">=128")
"""Face height buckets (pixels) of the recall breakdown."""


def evaluate(result_or_batch: Any, truth: Any, iou: float = 0.5) -> Evaluation:
    """Match a Result's (or Batch's) detections to ``truth`` (a path or table :func:`facekit.read_truth`
    reads) at IoU ``iou``, COCO's way: see :class:`Evaluation`."""
    from ..errors import InvalidInputError

    if not 0.0 < iou <= 1.0:
        raise InvalidInputError(f"iou must be in (0, 1], got {iou!r}")
    found = detected(result_or_batch)
    return Evaluation(found, truth_for(found, truth), iou)


class Evaluation:
    """Detections scored against ground truth.

    ``curve()`` gives TP, FP, FN, precision, recall and F1 at every candidate score (exact: a
    Result keeps every candidate, and COCO's matching of the candidates above a threshold does not
    depend on those below); ``summary()`` AP, COCO's AP@[.5:.95], the figures at the result's
    threshold, the F1-best threshold, recall by face height and, when the truth has identities,
    MOTA, IDF1, HOTA and ID switches; ``per_file()`` the same per source; ``matches()`` one row
    per truth box and per detection; ``plot`` the PR curve, F1 curve, error gallery and overlay.

    Detections are kept by score alone (a ``single_face`` result is scored on all its candidates).
    A Batch keeps only the faces at its confidence, so its curve starts there; a video Result is
    scored on the frames it analysed. Ignore regions count as COCO's crowd regions.
    """

    def __init__(self, found: Detected, truth: pd.DataFrame, iou: float) -> None:
        self.iou = float(iou)
        self.threshold = float(found.threshold)
        self._found = found
        self._truth = truth
        self._aligned = aligned(found, truth)
        self._order = ranking(self._aligned.dets.image, self._score)
        self._rank = np.empty_like(self._order)
        self._rank[self._order] = np.arange(self._order.size)
        self._negated = -self._score[self._order]  # ascending: counts above a threshold by binary search
        self._pairs = pairs(self._aligned.dets, self._aligned.truth, min(self.iou, COCO_IOUS[0]))

    @cached_property
    def _walks(self) -> dict[float, tuple[Matches, np.ndarray, np.ndarray]]:
        """Per IoU threshold (this evaluation's and COCO's ten, matched in one walk): the matches,
        the pooled ranks of the true positives and those of the detections ignore regions absorbed."""
        thresholds = sorted({self.iou, *(float(t) for t in COCO_IOUS)})
        found = match(self._aligned.dets, self._rank, self._aligned.truth, self._pairs, thresholds)
        return {t: (m, m.ranks(self._rank), m.ranks(self._rank, ignored=True)) for t, m in zip(thresholds, found)}

    @property
    def _matches(self) -> Matches:
        return self._walks[self.iou][0]

    @cached_property
    def _truth_det(self) -> np.ndarray:
        """Per truth row, the detection that matched it at this evaluation's IoU (-1: none)."""
        return self._matches.truth_det(self._aligned.truth.image.size)

    @property
    def _score(self) -> np.ndarray:
        score = self._aligned.dets.score
        assert score is not None
        return score

    @property
    def _real_truth(self) -> np.ndarray:
        ignore = self._aligned.truth.ignore
        assert ignore is not None
        return ~ignore

    def _kept(self, threshold: float) -> int:
        """How many candidates score at least ``threshold`` (they are the first in the pooled order)."""
        return int(np.searchsorted(self._negated, -threshold, side="right"))

    # -- the curve ---------------------------------------------------------------------------------

    @cached_property
    def _curve(self) -> dict[str, np.ndarray]:
        """The curve's columns (built once: the summary reads its best F1 from them)."""
        score = -self._negated
        last = np.flatnonzero(np.r_[score[1:] != score[:-1], True]) if score.size else np.zeros(0, np.int64)
        _, tp_at, ignored_at = self._walks[self.iou]
        tp = np.searchsorted(tp_at, last, side="right")
        fp = last + 1 - tp - np.searchsorted(ignored_at, last, side="right")
        return _rates(score[last], tp, fp, int(self._real_truth.sum()))

    def curve(self) -> pd.DataFrame:
        """One row per distinct candidate score, descending: keeping the candidates scoring at least
        ``threshold`` gives ``tp``, ``fp``, ``fn``, ``precision``, ``recall`` and ``f1``."""
        return pd.DataFrame(self._curve)

    def at(self, threshold: float) -> dict[str, float]:
        """TP, FP, FN, precision, recall and F1 keeping the candidates scoring at least ``threshold``."""
        kept = self._kept(threshold)
        _, tp_at, ignored_at = self._walks[self.iou]
        tp = int(np.searchsorted(tp_at, kept))
        fp = kept - tp - int(np.searchsorted(ignored_at, kept))
        row = _rates(np.array([threshold]), np.array([tp]), np.array([fp]), int(self._real_truth.sum()))
        return {k: (int(v[0]) if k in ("tp", "fp", "fn") else float(v[0])) for k, v in row.items()}

    # -- the summary -------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """AP (IoU 0.5 and COCO's 0.5:0.95), the figures at the result's threshold, the F1-best
        threshold, recall by face height and, when the truth has identities, tracking metrics."""
        ranks = {t: (tp_at, ignored_at) for t, (_, tp_at, ignored_at) in self._walks.items()}
        real = self._real_truth
        out = self._figures(ranks, self._kept(self.threshold), int(real.sum()), int((~real).sum()))
        curve = self._curve
        best = int(curve["f1"].argmax()) if curve["f1"].size else None
        out["best_f1"] = math.nan if best is None else float(curve["f1"][best])
        out["best_f1_threshold"] = math.nan if best is None else float(curve["threshold"][best])
        out.update(self._recall_by_height())
        if has_identities(self._truth, self._found.video):
            out.update(tracking_metrics(self._truth, self._found.kept(), self._found.frames))
        return out

    def per_file(self) -> pd.DataFrame:
        """The summary's detection figures (no tracking) per source, one row each.

        A source's detections keep their pooled order among themselves, so its ranks are the
        positions among its own: the pooled ranks are grouped by source once, not masked per source.
        """
        codes, names = pd.factorize(self._aligned.images["source"], sort=True)
        count = len(names)
        det_code = codes[self._aligned.dets.image][self._order]  # per pooled rank
        truth_code = codes[self._aligned.truth.image]
        within = _positions_within(det_code, count)
        kept = np.bincount(det_code[: self._kept(self.threshold)], minlength=count)
        n_truth = np.bincount(truth_code[self._real_truth], minlength=count)
        n_ignore = np.bincount(truth_code[~self._real_truth], minlength=count)
        split = {
            t: (_by_group(tp_at, det_code, count), _by_group(ignored_at, det_code, count))
            for t, (_, tp_at, ignored_at) in self._walks.items()
        }
        rows = [
            {
                "source": name,
                **self._figures(
                    {t: (within[tp[k]], within[ignored[k]]) for t, (tp, ignored) in split.items()},
                    int(kept[k]),
                    int(n_truth[k]),
                    int(n_ignore[k]),
                ),
            }
            for k, name in enumerate(names)
        ]
        return pd.DataFrame(rows)

    def _figures(
        self, ranks: dict[float, tuple[np.ndarray, np.ndarray]], kept: int, n_truth: int, n_ignore: int
    ) -> dict[str, Any]:
        """AP and the figures at the threshold from, per IoU threshold, the ranks (ascending) of
        the true positives and of the detections ignore regions absorbed, with ``kept`` detections
        at the threshold and ``n_truth`` real faces."""
        aps = [
            average_precision(tp_at, ignored_at, n_truth) for t, (tp_at, ignored_at) in ranks.items() if t in COCO_IOUS
        ]
        tp_at, ignored_at = ranks[self.iou]
        tp = int(np.searchsorted(tp_at, kept))
        fp = kept - tp - int(np.searchsorted(ignored_at, kept))
        rates = _rates(np.array([self.threshold]), np.array([tp]), np.array([fp]), n_truth)
        return {
            "n_truth": n_truth,
            "n_ignore": n_ignore,
            "n_detections": kept,
            "threshold": self.threshold,
            "iou": self.iou,
            "tp": tp,
            "fp": fp,
            "fn": n_truth - tp,
            "precision": float(rates["precision"][0]),
            "recall": float(rates["recall"][0]),
            "f1": float(rates["f1"][0]),
            "ap50": aps[0],
            "ap": float(np.mean(aps)) if n_truth else math.nan,
        }

    def _recall_by_height(self) -> dict[str, float]:
        found = self._found_at(self.threshold)
        height = self._aligned.truth.boxes[:, 3]
        bucket = np.digitize(height, HEIGHTS[1:-1])
        out = {}
        for k, label in enumerate(HEIGHT_LABELS):
            here = self._real_truth & (bucket == k)
            out[f"recall_height_{label}"] = float(found[here].mean()) if here.any() else math.nan
        return out

    def _found_at(self, threshold: float) -> np.ndarray:
        """Per truth row, whether a detection scoring at least ``threshold`` matched it."""
        by = self._truth_det
        found = by >= 0
        found[found] = self._score[by[found]] >= threshold
        return found

    # -- matches -----------------------------------------------------------------------------------

    def matches(self, threshold: float | None = None) -> pd.DataFrame:
        """One row per truth box (``outcome`` tp, fn or ignore) and per detection scoring at least
        ``threshold`` (default: the result's; tp, fp or ignored; by picture, then descending score),
        with ``iou`` of the pair, the detection's ``score``, ``size`` (box height, pixels) and
        ``partner`` (the other row's index)."""
        threshold = self.threshold if threshold is None else float(threshold)
        m = self._matches
        truth, dets, images = self._aligned.truth_rows, self._aligned.dets, self._aligned.images
        det_truth = np.full(self._score.size, -1, np.int64)
        det_truth[m.det] = m.truth
        det_overlap = np.full(self._score.size, np.nan)
        det_overlap[m.det] = m.overlap
        det_ignored = np.zeros(self._score.size, bool)
        det_ignored[m.det] = m.ignored
        det_tp = (det_truth >= 0) & ~det_ignored
        by_picture = np.lexsort((self._rank, dets.image))
        kept = by_picture[self._score[by_picture] >= threshold]
        picture = dets.image[kept]
        found = self._found_at(threshold)
        truth_outcome = np.where(~self._real_truth, "ignore", np.where(found, "tp", "fn"))
        det_outcome = np.where(det_ignored, "ignored", np.where(det_tp, "tp", "fp"))[kept]
        position = np.full(self._score.size, -1)
        position[kept] = len(truth) + np.arange(kept.size)
        partner_det = _where_found(found, self._truth_det, position, -1)
        partner_truth = np.where(det_tp[kept], det_truth[kept], -1)
        truth_iou = _where_found(found, self._truth_det, det_overlap, np.nan)
        table = pd.concat(
            [
                pd.DataFrame(
                    {
                        "kind": "truth",
                        "outcome": truth_outcome,
                        "source": truth["source"].to_numpy(object),
                        "frame": truth["frame"].to_numpy(),
                        "track_id": truth["track_id"].array,
                        "score": _where_found(found, self._truth_det, self._score, np.nan),
                        "iou": truth_iou,
                        "partner": partner_det,
                        **{c: truth[c].to_numpy() for c in ("x", "y", "w", "h")},
                    }
                ),
                pd.DataFrame(
                    {
                        "kind": "detection",
                        "outcome": det_outcome,
                        "source": images["source"].to_numpy(object)[picture],
                        "frame": images["frame"].to_numpy(np.int64)[picture],
                        "track_id": pd.array([pd.NA] * kept.size, dtype="Int64"),
                        "score": self._score[kept],
                        "iou": det_overlap[kept],
                        "partner": partner_truth,
                        **{c: dets.boxes[kept, k] for k, c in enumerate(("x", "y", "w", "h"))},
                    }
                ),
            ],
            ignore_index=True,
        )
        table["size"] = table["h"]
        table["partner"] = table["partner"].astype("Int64").mask(table["partner"] < 0)
        return table.astype({"kind": "category", "outcome": "category", "source": "string"})

    def source_of(self, name: str) -> str | None:
        """The file a source name was detected from, where it is a file on this machine."""
        return self._found.paths.get(name)

    # -- display -----------------------------------------------------------------------------------

    @cached_property
    def plot(self) -> Any:
        """The evaluation's plots: ``pr()``, ``f1()``, ``errors(source)``, ``overlay(frame=, source=)``."""
        from ..plot.evaluation import EvaluationPlots

        return EvaluationPlots(self)

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<facekit.Evaluation {s['n_truth']} true faces, {s['n_detections']} detections at {self.threshold:g}: "
            f"precision {s['precision']:.3f}, recall {s['recall']:.3f}, AP50 {s['ap50']:.3f}>"
        )

    def _repr_html_(self) -> str:
        table = pd.Series(self.summary(), name="value").to_frame()
        return f"<b>facekit.Evaluation</b> at IoU {self.iou:g}{table.to_html(float_format=lambda v: f'{v:.4g}')}"


def _positions_within(code: np.ndarray, count: int) -> np.ndarray:
    """Per item, its position among the items of its group ``code`` (in the items' order)."""
    by_code = np.argsort(code, kind="stable")
    sizes = np.bincount(code, minlength=count)
    within = np.empty_like(by_code)
    within[by_code] = np.arange(by_code.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return within


def _by_group(ranks: np.ndarray, code: np.ndarray, count: int) -> list[np.ndarray]:
    """Ascending ``ranks`` split by the group ``code[rank]`` of each, each part still ascending."""
    group = code[ranks]
    return np.split(ranks[np.argsort(group, kind="stable")], np.cumsum(np.bincount(group, minlength=count))[:-1])


def _where_found(found: np.ndarray, index: np.ndarray, values: np.ndarray, missing: float) -> np.ndarray:
    """Per truth row, ``values`` of its matching detection where ``found``, else ``missing``."""
    out = np.full(found.size, missing, dtype=np.result_type(values.dtype, type(missing)))
    out[found] = values[index[found]]
    return out


def _rates(threshold: np.ndarray, tp: np.ndarray, fp: np.ndarray, n_truth: int) -> dict[str, np.ndarray]:
    """Counts to the curve's columns: precision 1 with nothing kept, recall NaN without truth, F1 0 when both 0."""
    tp = tp.astype(np.int64)
    fp = fp.astype(np.int64)
    counted = tp + fp
    precision = np.divide(tp, counted, out=np.ones(tp.size), where=counted > 0)
    recall = tp / n_truth if n_truth else np.full(tp.size, np.nan)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(tp.size), where=total > 0)
    return {
        "threshold": threshold.astype(np.float64),
        "tp": tp,
        "fp": fp,
        "fn": n_truth - tp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }
