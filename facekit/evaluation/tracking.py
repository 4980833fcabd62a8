"""Tracking metrics (MOTA, IDF1, HOTA, ID switches) by TrackEval, the MOTChallenge reference code.

The kept faces and their ``track_id`` are scored against truth identities over the analysed
frames of each video; ignore regions are handled as MOTChallenge does: a detection matched to one
(IoU >= 0.5, Hungarian) is dropped with it. Several videos are combined by TrackEval's own rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInputError
from ..geometry import iou_matrix, match
from ..table import BOX_COLUMNS

__all__ = ["IGNORE_IOU", "has_identities", "sequence", "tracking_metrics"]

IGNORE_IOU = 0.5


def has_identities(truth: pd.DataFrame, video: bool) -> bool:
    """Whether tracking metrics mean something: truth with identities, detections from video."""
    return bool(video and truth["track_id"].notna().any())


def tracking_metrics(truth: pd.DataFrame, kept: pd.DataFrame, frames: pd.DataFrame) -> dict[str, float]:
    """MOTA, IDF1, HOTA (mean over TrackEval's 19 localisation thresholds) and ID switches, pooled over sources."""
    try:
        from trackeval.metrics import CLEAR, HOTA, Identity
    except ImportError as exc:  # an optional dependency: pip install trackeval
        raise InvalidInputError("tracking metrics need TrackEval: pip install trackeval") from exc
    metrics = {"clear": CLEAR({"PRINT_CONFIG": False}), "identity": Identity({"PRINT_CONFIG": False}), "hota": HOTA()}
    per_source: dict[str, dict[str, Any]] = {name: {} for name in metrics}
    for source, analysed in frames.groupby("source", sort=True):
        data = sequence(truth[truth["source"] == source], kept[kept["source"] == source], analysed["frame"])
        for name, metric in metrics.items():
            per_source[name][str(source)] = metric.eval_sequence(data)
    pooled = {name: metric.combine_sequences(per_source[name]) for name, metric in metrics.items()}
    return {
        "mota": float(pooled["clear"]["MOTA"]),
        "idf1": float(pooled["identity"]["IDF1"]),
        "hota": float(np.mean(pooled["hota"]["HOTA"])),
        "id_switches": int(pooled["clear"]["IDSW"]),
    }


def sequence(truth: pd.DataFrame, kept: pd.DataFrame, frames: pd.Series) -> dict[str, Any]:
    """One video in TrackEval's form: per analysed frame the truth and tracker ids (numbered from 0)
    and their IoU matrix, ignore regions and the detections on them removed."""
    gt_ids = _numbering(truth["track_id"].dropna())
    tracker_ids = _numbering(kept["track_id"].dropna())
    data: dict[str, Any] = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    for frame in np.sort(frames.to_numpy(np.int64)):
        gts = truth[truth["frame"] == frame]
        dets = kept[(kept["frame"] == frame) & kept["track_id"].notna()]
        real = ~gts["ignore"].to_numpy(bool) & gts["track_id"].notna().to_numpy()
        det_boxes = dets[BOX_COLUMNS].to_numpy(np.float64)
        dropped = _on_ignore_regions(gts[BOX_COLUMNS].to_numpy(np.float64), real, det_boxes)
        gts, dets, det_boxes = gts[real], dets[~dropped], det_boxes[~dropped]
        data["gt_ids"].append(gt_ids.loc[gts["track_id"].to_numpy(np.int64)].to_numpy(np.int64))
        data["tracker_ids"].append(tracker_ids.loc[dets["track_id"].to_numpy(np.int64)].to_numpy(np.int64))
        data["similarity_scores"].append(iou_matrix(gts[BOX_COLUMNS].to_numpy(np.float64), det_boxes))
    data.update(
        num_timesteps=len(data["gt_ids"]),
        num_gt_ids=len(gt_ids),
        num_tracker_ids=len(tracker_ids),
        num_gt_dets=int(sum(ids.size for ids in data["gt_ids"])),
        num_tracker_dets=int(sum(ids.size for ids in data["tracker_ids"])),
    )
    return data


def _numbering(ids: pd.Series) -> pd.Series:
    """Distinct ids -> 0, 1, 2, ... (TrackEval wants contiguous ids)."""
    unique = np.unique(ids.to_numpy(np.int64))
    return pd.Series(np.arange(unique.size), index=unique)


def _on_ignore_regions(truth_boxes: np.ndarray, real: np.ndarray, det_boxes: np.ndarray) -> np.ndarray:
    """Detections whose one-to-one match among all truth boxes of the frame is an ignore region
    (or a face without identity)."""
    dropped = np.zeros(len(det_boxes), bool)
    if real.all() or not len(det_boxes):
        return dropped
    rows, cols = match(iou_matrix(truth_boxes, det_boxes), IGNORE_IOU, method="hungarian")
    dropped[cols[~real[rows]]] = True
    return dropped
