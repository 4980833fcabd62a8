"""Boxes: conversions, intersection over union and one-to-one matching.

Every part of facekit that pairs faces (comparison, evaluation, the fidelity gate, tracking)
uses these, so IoU means one thing everywhere. Boxes are (N, 4) float arrays, either
``xywh`` (top-left corner, width, height: the face table's ``x, y, w, h``) or ``xyxy``
(corners, what the detector returns).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["centres", "iou_matrix", "iou_pairs", "match", "xywh_to_xyxy", "xyxy_to_xywh"]

Method = Literal["hungarian", "greedy"]


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """[x, y, w, h] boxes as [x1, y1, x2, y2]."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.column_stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]])


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """[x1, y1, x2, y2] boxes as [x, y, w, h]."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])


def centres(boxes: np.ndarray) -> np.ndarray:
    """Centre (x, y) of each [x, y, w, h] box."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return boxes[:, :2] + boxes[:, 2:] / 2


def iou_matrix(one: np.ndarray, two: np.ndarray, *, fmt: Literal["xywh", "xyxy"] = "xywh") -> np.ndarray:
    """Pairwise intersection over union of (N, 4) and (M, 4) boxes: an (N, M) array.

    Continuous areas (no ``+1`` pixel convention), so a box's IoU with itself is exactly 1;
    empty boxes overlap nothing.
    """
    a, b = _corners(one, fmt), _corners(two, fmt)
    return _iou(a[:, None, :], b[None, :, :])


def iou_pairs(one: np.ndarray, two: np.ndarray, *, fmt: Literal["xywh", "xyxy"] = "xywh") -> np.ndarray:
    """Intersection over union of each row of (N, 4) ``one`` with the same row of ``two``: an (N,) array.

    For many sparse pairs (evaluation pairs every detection with the truth of its own frame
    only), where a full matrix would be mostly wasted.
    """
    return _iou(_corners(one, fmt), _corners(two, fmt))


def _corners(boxes: np.ndarray, fmt: Literal["xywh", "xyxy"]) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return xywh_to_xyxy(boxes) if fmt == "xywh" else boxes


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of broadcastable [..., 4] corner boxes."""
    x1 = np.maximum(a[..., 0], b[..., 0])
    y1 = np.maximum(a[..., 1], b[..., 1])
    x2 = np.minimum(a[..., 2], b[..., 2])
    y2 = np.minimum(a[..., 3], b[..., 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match(overlap: np.ndarray, threshold: float, *, method: Method = "hungarian") -> tuple[np.ndarray, np.ndarray]:
    """One-to-one pairs (rows, cols) of an (N, M) IoU matrix whose IoU is at least ``threshold``.

    ``hungarian`` maximises the total IoU (SciPy's ``linear_sum_assignment``); ``greedy`` takes
    the highest IoU first, as COCO-style evaluation and the fidelity gate do. Pairs come back
    sorted by row.
    """
    overlap = np.asarray(overlap, dtype=np.float64)
    none = np.zeros(0, np.int64)
    if overlap.size == 0:
        return none, none
    if method == "hungarian":
        from scipy.optimize import linear_sum_assignment  # deferred: SciPy costs ~0.3 s at import

        # pairs under the threshold count as nothing, so they never take the place of pairs over it
        rows, cols = linear_sum_assignment(np.where(overlap >= threshold, overlap, 0.0), maximize=True)
    elif method == "greedy":
        rows, cols = _greedy(overlap, threshold)
    else:
        raise ValueError(f"method must be 'hungarian' or 'greedy', got {method!r}")
    good = overlap[rows, cols] >= threshold
    rows, cols = rows[good].astype(np.int64), cols[good].astype(np.int64)
    order = np.argsort(rows, kind="stable")
    return rows[order], cols[order]


def _greedy(overlap: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs taken in order of decreasing IoU (ties by position), each row and column used once."""
    used_rows = np.zeros(overlap.shape[0], bool)
    used_cols = np.zeros(overlap.shape[1], bool)
    rows: list[int] = []
    cols: list[int] = []
    for flat in np.argsort(-overlap, axis=None, kind="stable"):
        r, c = divmod(int(flat), overlap.shape[1])
        if overlap[r, c] < threshold:
            break
        if not used_rows[r] and not used_cols[c]:
            used_rows[r] = used_cols[c] = True
            rows.append(r)
            cols.append(c)
    return np.array(rows, np.int64), np.array(cols, np.int64)
