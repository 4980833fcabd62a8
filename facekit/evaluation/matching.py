"""COCO's matching of detections to truth, for every picture at once, and COCO's AP.

COCO matches each picture's detections in order of descending score: a detection takes the
unmatched truth box it overlaps most (at least the IoU threshold), preferring real faces to
ignore regions; an ignore region (COCO's ``iscrowd``) is overlapped by intersection over the
detection's own area and may absorb any number of detections, which then count neither as true
nor as false positives. Because a detection's match never depends on lower-scoring ones, the
matches of the candidates above any threshold are those of the whole candidate table: one pass
gives the exact precision/recall curve.

Here all pictures are matched together: only (detection, truth) pairs from the same picture are
formed (:func:`facekit.geometry.iou_pairs`, after a cheap test that their boxes meet at all),
pairs below the lowest IoU threshold are dropped, and COCO's walk goes over every picture at once.
"""

from __future__ import annotations

import itertools
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
    det, gt = _meeting(dets, truth)
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


def _meeting(dets: Boxes, truth: Boxes) -> tuple[np.ndarray, np.ndarray]:
    """Every (detection, truth) pair of a picture whose boxes overlap at all, sorted by detection
    then truth row, so that IoU is computed only where it can be above zero.

    Step j pairs each detection with the j-th truth box of its picture; detections are ordered by
    how many truth boxes their picture has, so each step is one contiguous slice, and the work is
    the number of pairs, with no pair-sized index arrays built.
    """
    count = int(max(dets.image.max(initial=-1), truth.image.max(initial=-1))) + 1
    per_det = np.bincount(truth.image, minlength=count)[dets.image]
    order = np.argsort(-per_det, kind="stable")
    most = -np.sort(-per_det)
    first = np.searchsorted(truth.image, np.arange(count))[dets.image][order]
    box = dets.boxes[order]
    x1, y1, x2, y2 = box[:, 0], box[:, 1], box[:, 0] + box[:, 2], box[:, 1] + box[:, 3]
    tx1, ty1 = truth.boxes[:, 0], truth.boxes[:, 1]
    tx2, ty2 = tx1 + truth.boxes[:, 2], ty1 + truth.boxes[:, 3]
    found_det, found_gt = [], []
    for j in range(int(most[0]) if most.size else 0):
        n = int(np.searchsorted(-most, -j, side="left"))  # the detections whose picture has more than j boxes
        gt = first[:n] + j
        near = np.flatnonzero((x1[:n] < tx2[gt]) & (tx1[gt] < x2[:n]))
        gt = gt[near]
        near = near[(y1[near] < ty2[gt]) & (ty1[gt] < y2[near])]
        found_det.append(order[near])
        found_gt.append(first[near] + j)
    det = np.concatenate(found_det) if found_det else np.zeros(0, np.int64)
    gt = np.concatenate(found_gt) if found_gt else np.zeros(0, np.int64)
    by = np.lexsort((gt, det))
    return det[by], gt[by]


def match(dets: Boxes, truth: Boxes, found: Pairs, threshold: float) -> Matches:
    """COCO's matching at one IoU ``threshold`` (from the pairs of :func:`pairs`).

    COCO walks each picture's detections by descending score. Here the walk runs over all
    pictures at once: step k takes, in every picture, its k-th detection that overlaps anything,
    so there are as many steps as the most such detections in one picture, not as detections.
    """
    assert truth.ignore is not None
    ok = found.overlap >= min(threshold, 1 - 1e-10)
    det, gt, overlap = found.det[ok], found.truth[ok], found.overlap[ok]
    crowd = truth.ignore[gt]
    det_truth = np.full(dets.image.size, -1, np.int64)
    det_overlap = np.full(dets.image.size, np.nan)
    taken = np.zeros(truth.image.size, bool)
    step = _steps(det, dets.image)
    order = np.argsort(step, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(step, minlength=int(step.max(initial=-1)) + 1))]
    for start, end in itertools.pairwise(bounds):
        rows = order[start:end]
        rows = rows[crowd[rows] | ~taken[gt[rows]]]  # a face is matched once; an ignore region any number of times
        best = _best(det[rows], gt[rows], overlap[rows], crowd[rows])
        chosen = rows[best]
        det_truth[det[chosen]] = gt[chosen]
        det_overlap[det[chosen]] = overlap[chosen]
        taken[gt[chosen[~crowd[chosen]]]] = True
    matched = det_truth >= 0
    det_ignored = np.zeros(dets.image.size, bool)
    det_ignored[matched] = truth.ignore[det_truth[matched]]
    real = matched & ~det_ignored
    truth_det = np.full(truth.image.size, -1, np.int64)
    truth_det[det_truth[real]] = np.flatnonzero(real)
    return Matches(det_truth, det_overlap, det_ignored, truth_det)


def _steps(det: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Per pair (sorted by detection), the rank of its detection among its picture's detections that have pairs."""
    new_det = np.r_[True, det[1:] != det[:-1]] if det.size else np.zeros(0, bool)
    having = det[new_det]  # detection order: by picture, then by descending score
    first = np.r_[True, image[having][1:] != image[having][:-1]] if having.size else np.zeros(0, bool)
    position = np.arange(having.size)
    rank = position - np.maximum.accumulate(np.where(first, position, 0))
    return rank[np.cumsum(new_det) - 1]


def _best(det: np.ndarray, gt: np.ndarray, overlap: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """Index of each detection's choice among its pairs (sorted by detection, then truth row): a
    real face before an ignore region, then the largest overlap, ties to the later truth row (as
    COCO's loop does)."""
    if not det.size:
        return np.zeros(0, np.int64)
    new_det = np.r_[True, det[1:] != det[:-1]]
    starts = np.flatnonzero(new_det)
    group = np.cumsum(new_det) - 1
    real_best = np.maximum.reduceat(np.where(crowd, -1.0, overlap), starts)
    crowd_best = np.maximum.reduceat(np.where(crowd, overlap, -1.0), starts)
    has_real = real_best >= 0  # overlaps are never negative
    wanted = (overlap == np.where(has_real, real_best, crowd_best)[group]) & (crowd != has_real[group])
    candidate = np.where(wanted, np.arange(det.size), -1)
    return np.maximum.reduceat(candidate, starts)


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
