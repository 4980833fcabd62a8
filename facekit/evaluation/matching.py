"""COCO's matching of detections to truth, for every picture at once, and COCO's AP.

COCO matches each picture's detections in order of descending score: a detection takes the
unmatched truth box it overlaps most (at least the IoU threshold), preferring real faces to
ignore regions; an ignore region (COCO's ``iscrowd``) is overlapped by intersection over the
detection's own area and may absorb any number of detections, which then count neither as true
nor as false positives. Because a detection's match never depends on lower-scoring ones, the
matches of the candidates above any threshold are those of the whole candidate table: one pass
gives the exact precision/recall curve.

Here all pictures are matched together: only (detection, truth) pairs from the same picture are
formed (:func:`facekit.geometry.iou_pairs`), pairs below the lowest IoU threshold are dropped,
and only the pictures where two detections contend for one truth box are walked one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import iou_pairs

COCO_IOUS = np.linspace(0.5, 0.95, 10)
"""The IoU thresholds of COCO's AP@[.5:.95]."""
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
"""COCO's 101 recall points of interpolated precision."""


@dataclass(frozen=True)
class Boxes:
    """Boxes of one side, sorted by picture: ``image`` index, [x, y, w, h] ``boxes``, and for
    detections their ``score`` (descending within a picture), for truth its ``ignore`` flag
    (real faces first within a picture)."""

    image: np.ndarray
    boxes: np.ndarray
    score: np.ndarray | None = None
    ignore: np.ndarray | None = None


@dataclass(frozen=True)
class Matches:
    """The outcome at one IoU threshold: per detection the matched truth row (-1: none), its
    overlap and whether it matched an ignore region; per truth row the matching detection (-1)."""

    det_truth: np.ndarray
    det_overlap: np.ndarray
    det_ignored: np.ndarray
    truth_det: np.ndarray

    @property
    def det_tp(self) -> np.ndarray:
        return (self.det_truth >= 0) & ~self.det_ignored

    @property
    def det_fp(self) -> np.ndarray:
        return self.det_truth < 0


@dataclass(frozen=True)
class Pairs:
    """Every (detection, truth) pair of a picture that overlaps at least the lowest threshold."""

    det: np.ndarray
    truth: np.ndarray
    overlap: np.ndarray  # IoU, or intersection over the detection's area for ignore regions


def pairs(dets: Boxes, truth: Boxes, lowest: float) -> Pairs:
    """The overlapping (detection, truth) pairs of the same picture, in (detection, truth) order."""
    count = int(max(dets.image.max(initial=-1), truth.image.max(initial=-1))) + 1
    starts = np.searchsorted(truth.image, np.arange(count))
    per_image = np.bincount(truth.image, minlength=count)
    per_det = per_image[dets.image]
    det = np.repeat(np.arange(dets.image.size), per_det)
    offset = np.arange(det.size) - np.repeat(np.cumsum(per_det) - per_det, per_det)
    gt = starts[dets.image][det] + offset
    iou = iou_pairs(dets.boxes[det], truth.boxes[gt])
    assert truth.ignore is not None
    crowd = truth.ignore[gt]
    overlap = iou.copy()
    if crowd.any():  # intersection over the detection's area, from IoU: I = IoU (A + B) / (1 + IoU)
        det_area = dets.boxes[det[crowd], 2] * dets.boxes[det[crowd], 3]
        gt_area = truth.boxes[gt[crowd], 2] * truth.boxes[gt[crowd], 3]
        inter = iou[crowd] * (det_area + gt_area) / (1.0 + iou[crowd])
        overlap[crowd] = np.divide(inter, det_area, out=np.zeros_like(inter), where=det_area > 0)
    keep = overlap >= min(lowest, 1 - 1e-10)
    return Pairs(det[keep], gt[keep], overlap[keep])


def match(dets: Boxes, truth: Boxes, found: Pairs, threshold: float) -> Matches:
    """COCO's matching at one IoU ``threshold`` (from the pairs of :func:`pairs`)."""
    assert truth.ignore is not None
    bar = min(threshold, 1 - 1e-10)
    ok = found.overlap >= bar
    det, gt, overlap = found.det[ok], found.truth[ok], found.overlap[ok]
    crowd = truth.ignore[gt]
    det_truth = np.full(dets.image.size, -1, np.int64)
    det_overlap = np.full(dets.image.size, np.nan)
    truth_det = np.full(truth.image.size, -1, np.int64)
    real_counts = np.bincount(gt[~crowd], minlength=truth.image.size)
    contended = np.zeros(int(dets.image.max(initial=-1)) + 1, bool)
    contended[truth.image[real_counts > 1]] = True
    walk = contended[dets.image[det]]
    _take_best(det[~walk], gt[~walk], overlap[~walk], crowd[~walk], det_truth, det_overlap)
    _walk(det[walk], gt[walk], overlap[walk], crowd[walk], det_truth, det_overlap)
    matched = det_truth >= 0
    det_ignored = np.zeros(dets.image.size, bool)
    det_ignored[matched] = truth.ignore[det_truth[matched]]
    real = matched & ~det_ignored
    truth_det[det_truth[real]] = np.flatnonzero(real)
    return Matches(det_truth, det_overlap, det_ignored, truth_det)


def _take_best(det, gt, overlap, crowd, det_truth, det_overlap) -> None:
    """Uncontended pairs: each detection takes its best real face, else its best ignore region
    (ties: the later truth row, as COCO's loop does)."""
    order = np.lexsort((gt, overlap, ~crowd, det))  # per detection: ignore regions, then real faces, by overlap
    last = np.r_[det[order][1:] != det[order][:-1], True] if order.size else np.zeros(0, bool)
    best = order[last]
    det_truth[det[best]] = gt[best]
    det_overlap[det[best]] = overlap[best]


def _walk(det, gt, overlap, crowd, det_truth, det_overlap) -> None:
    """Pictures where detections contend for a face: COCO's loop, detection by detection."""
    taken: set[int] = set()
    start = 0
    while start < det.size:
        end = start
        while end < det.size and det[end] == det[start]:
            end += 1
        best, best_overlap, best_real = -1, -1.0, False
        for k in range(start, end):
            g, real = int(gt[k]), not crowd[k]
            if real and g in taken:
                continue
            if best_real and not real:
                continue
            if (real and not best_real) or overlap[k] >= best_overlap:
                best, best_overlap, best_real = g, float(overlap[k]), real
        if best >= 0:
            det_truth[det[start]] = best
            det_overlap[det[start]] = best_overlap
            if best_real:
                taken.add(best)
        start = end


def ranked(score: np.ndarray) -> np.ndarray:
    """Detections in COCO's pooled order: descending score, ties in picture order (a stable sort)."""
    return np.argsort(-score, kind="mergesort")


def average_precision(tp: np.ndarray, fp: np.ndarray, n_truth: int) -> float:
    """COCO's 101-point interpolated AP of detections already in :func:`ranked` order (NaN without truth)."""
    if n_truth == 0:
        return float("nan")
    tp_sum = np.cumsum(tp, dtype=np.float64)
    fp_sum = np.cumsum(fp, dtype=np.float64)
    recall = tp_sum / n_truth
    precision = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    at = np.searchsorted(recall, RECALL_POINTS, side="left")
    points = np.where(at < precision.size, precision[np.minimum(at, precision.size - 1)], 0.0) if tp.size else 0.0
    return float(np.mean(points))
