"""COCO's matching of detections to truth, for every picture and every IoU threshold at once, and COCO's AP.

COCO matches each picture's detections in order of descending score: a detection takes the
unmatched truth box it overlaps most (at least the IoU threshold), preferring real faces to
ignore regions; an ignore region (COCO's ``iscrowd``) is overlapped by intersection over the
detection's own area and may absorb any number of detections, which then count neither as true
nor as false positives. Because a detection's match never depends on lower-scoring ones, the
matches of the candidates above any threshold are those of the whole candidate table: one pass
gives the exact precision/recall curve.

Here all pictures are matched together: only (detection, truth) pairs from the same picture are
formed (:func:`facekit.geometry.iou_pairs`, after a cheap test that their boxes meet at all),
pairs below the lowest IoU threshold are dropped, and COCO's walk goes over every picture and
every threshold at once. Detections that overlap nothing are false positives at every threshold
and never enter the walk, so its cost follows the overlapping pairs, not the candidates.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..geometry import iou_pairs

__all__ = [
    "COCO_IOUS",
    "RECALL_POINTS",
    "Boxes",
    "Matches",
    "Pairs",
    "average_precision",
    "match",
    "pairs",
    "ranking",
]

COCO_IOUS = np.linspace(0.5, 0.95, 10)
"""The IoU thresholds of COCO's AP@[.5:.95]."""
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
"""COCO's 101 recall points of interpolated precision."""


@dataclass(frozen=True)
class Boxes:
    """Boxes of one side: ``image`` index, [x, y, w, h] ``boxes``, and for detections their
    ``score`` (any row order), for truth its ``ignore`` flag (truth is sorted by picture, real
    faces first within a picture, as COCO orders them)."""

    image: np.ndarray
    boxes: np.ndarray
    score: np.ndarray | None = None
    ignore: np.ndarray | None = None


@dataclass(frozen=True)
class Pairs:
    """Every (detection, truth) pair of a picture that overlaps at least the lowest threshold."""

    det: np.ndarray
    truth: np.ndarray
    overlap: np.ndarray  # IoU, or intersection over the detection's area for ignore regions


@dataclass(frozen=True)
class Matches:
    """The outcome at one IoU threshold, kept only for the detections that matched (every other
    detection is a false positive): the detection, its truth row, their overlap and whether that
    row is an ignore region, in pooled rank order."""

    det: np.ndarray
    truth: np.ndarray
    overlap: np.ndarray
    ignored: np.ndarray

    def ranks(self, rank: np.ndarray, ignored: bool = False) -> np.ndarray:
        """Pooled ranks (ascending: :func:`match` gives them in that order) of the true positives, or
        of the detections an ignore region absorbed."""
        return rank[self.det[self.ignored == ignored]]

    def truth_det(self, n_truth: int) -> np.ndarray:
        """Per truth row, the detection that matched it as a true positive (-1: none)."""
        out = np.full(n_truth, -1, np.int64)
        real = ~self.ignored
        out[self.truth[real]] = self.det[real]
        return out


def ranking(image: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Detections in COCO's pooled order: descending score, ties in picture order, then row order
    (stable sorts); the sort by picture is skipped when rows are already grouped by picture, as a
    Result's and a Batch's are, so the cost is one sort of the scores."""
    grouped = bool(np.all(image[1:] >= image[:-1]))
    if grouped:
        return np.argsort(-score, kind="stable")
    by_picture = np.argsort(image, kind="stable")
    return by_picture[np.argsort(-score[by_picture], kind="stable")]


def pairs(dets: Boxes, truth: Boxes, lowest: float) -> Pairs:
    """The overlapping (detection, truth) pairs of the same picture (in no particular order)."""
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
    """Every (detection, truth) pair of a picture whose boxes overlap at all, so that IoU is
    computed only where it can be above zero.

    Step j pairs each detection with the j-th truth box of its picture (truth is sorted by
    picture): as many steps as the most truth boxes in one picture, each a pass over the
    detections whose picture has more than j, with no pair-sized index arrays built.
    """
    count = int(max(dets.image.max(initial=-1), truth.image.max(initial=-1))) + 1
    per_picture = np.bincount(truth.image, minlength=count)
    first_of = np.cumsum(per_picture) - per_picture
    tx1, ty1 = truth.boxes[:, 0], truth.boxes[:, 1]
    tx2, ty2 = tx1 + truth.boxes[:, 2], ty1 + truth.boxes[:, 3]
    left = per_picture[dets.image]
    live = np.flatnonzero(left > 0)
    left, first = left[live], first_of[dets.image[live]]
    box = dets.boxes if live.size == dets.image.size else dets.boxes[live]
    x1, y1, x2, y2 = box[:, 0], box[:, 1], box[:, 0] + box[:, 2], box[:, 1] + box[:, 3]
    found_det, found_gt = [], []
    for j in itertools.count():
        if not live.size:
            break
        gt = first + j
        near = np.flatnonzero((x1 < tx2[gt]) & (tx1[gt] < x2))
        gt = gt[near]
        near = near[(y1[near] < ty2[gt]) & (ty1[gt] < y2[near])]
        found_det.append(live[near])
        found_gt.append(first[near] + j)
        more = left > j + 1
        if not more.all():  # drop the detections whose picture has no more truth boxes
            live, left, first, x1, y1, x2, y2 = (a[more] for a in (live, left, first, x1, y1, x2, y2))
    none = np.zeros(0, np.int64)
    return np.concatenate([none, *found_det]), np.concatenate([none, *found_gt])


def match(dets: Boxes, rank: np.ndarray, truth: Boxes, found: Pairs, thresholds: Sequence[float]) -> list[Matches]:
    """COCO's matching at each IoU threshold (from the pairs of :func:`pairs`), all in one walk;
    each threshold's matches come in pooled rank order.

    COCO walks each picture's detections by descending score (``rank``, their pooled rank, orders
    them within a picture too). Each (threshold, picture) is walked as a picture of its own, all at
    once: step k takes, in every one, its k-th detection that overlaps anything, so there are as
    many steps as the most such detections in one picture, not as detections or thresholds.
    """
    assert truth.ignore is not None
    walk = np.argsort(dets.image[found.det] * rank.size + rank[found.det], kind="stable")  # then by truth row
    det, gt, overlap = found.det[walk], found.truth[walk], found.overlap[walk]
    rows = [np.flatnonzero(overlap >= min(t, 1 - 1e-10)) for t in thresholds]
    block = np.repeat(np.arange(len(thresholds)), [r.size for r in rows])
    row = np.concatenate([np.zeros(0, np.int64), *rows])
    crowd = truth.ignore[gt[row]]
    picture = block * (int(dets.image.max(initial=0)) + 1) + dets.image[det[row]]
    keys = block * rank.size + det[row], block * truth.image.size + gt[row]
    chosen = _walk(*keys, picture, overlap[row], crowd)
    chosen = chosen[_ordered(block[chosen], rank[det[row[chosen]]], rank.size)]
    cuts = np.searchsorted(block[chosen], np.arange(1, len(thresholds)))
    return [Matches(det[row[c]], gt[row[c]], overlap[row[c]], crowd[c]) for c in np.split(chosen, cuts)]


def _walk(det: np.ndarray, gt: np.ndarray, picture: np.ndarray, overlap: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """COCO's greedy walk over pairs grouped by picture, then by detection in walking order, then by
    truth row (``det`` and ``gt``: keys distinct across pictures): each matching detection's pair."""
    step = _steps(det, picture)
    most = max(int(step.max(initial=0)), 1)
    order = np.argsort(step.astype(np.min_scalar_type(most)), kind="stable")  # a radix sort: steps are few
    bounds = np.r_[0, np.cumsum(np.bincount(step, minlength=1))]
    taken = np.zeros(int(gt.max(initial=-1)) + 1, bool)
    chosen = [np.zeros(0, np.int64)]
    for start, end in itertools.pairwise(bounds):
        here = order[start:end]
        here = here[crowd[here] | ~taken[gt[here]]]  # a face is matched once; an ignore region any number of times
        best = here[_best(det[here], overlap[here], crowd[here])]
        taken[gt[best[~crowd[best]]]] = True
        chosen.append(best)
    return np.concatenate(chosen)


def _ordered(block: np.ndarray, rank: np.ndarray, n: int) -> np.ndarray:
    """The order of items by (``block``, ``rank``), each pair distinct, ranks below ``n``: ranks are
    renumbered densely and items dropped into a table of slots, so no sort is needed."""
    present = np.zeros(n, bool)
    present[rank] = True
    dense = (np.cumsum(present) - 1)[rank]
    width = int(dense.max(initial=-1)) + 1
    slots = np.full(int(block.max(initial=-1) + 1) * width, -1, np.int64)
    slots[block * width + dense] = np.arange(rank.size)
    return slots[slots >= 0]


def _steps(det: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Per pair (grouped by detection, detections in walking order), the rank of its detection
    among its picture's detections that have pairs."""
    new_det = np.r_[True, det[1:] != det[:-1]] if det.size else np.zeros(0, bool)
    having = image[new_det]
    starts = np.flatnonzero(np.r_[True, having[1:] != having[:-1]]) if having.size else np.zeros(0, np.int64)
    rank = np.arange(having.size) - np.repeat(starts, np.diff(np.r_[starts, having.size]))
    return rank[np.cumsum(new_det) - 1]


def _best(det: np.ndarray, overlap: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """Index of each detection's choice among its pairs (grouped by detection, then by truth row):
    a real face before an ignore region, then the largest overlap, ties to the later truth row (as
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


def average_precision(tp_at: np.ndarray, ignored_at: np.ndarray, n_truth: int) -> float:
    """COCO's 101-point interpolated AP (NaN without truth) from the pooled ranks (ascending) of the
    true positives and of the detections absorbed by ignore regions.

    COCO's precision envelope takes, at each recall, the best precision at that recall or beyond;
    between two true positives precision only falls, so the envelope is read at the true
    positives alone: at the i-th, ``i`` true and ``rank + 1 - i - absorbed`` false positives.
    """
    if n_truth == 0:
        return float("nan")
    if not tp_at.size:
        return 0.0
    tp = np.arange(1, tp_at.size + 1, dtype=np.float64)
    fp = tp_at + 1 - tp - np.searchsorted(ignored_at, tp_at)
    recall = tp / n_truth
    precision = tp / (fp + tp + np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    at = np.searchsorted(recall, RECALL_POINTS, side="left")
    return float(np.mean(np.where(at < precision.size, precision[np.minimum(at, precision.size - 1)], 0.0)))
