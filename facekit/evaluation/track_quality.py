"""How truthful a set of tracks is against tracks known by construction (:mod:`facekit.synthetic`,
:func:`facekit.data.pan_truth`): IDF1, MOTA, HOTA and ID switches by TrackEval (through
:mod:`facekit.evaluation.tracking`), and what the standard metrics do not say directly:

- ``fragments``: true tracks split over more than one id (extra ids, summed);
- ``merges``: ids given to more than one true track (extra true tracks, summed);
- ``cut_merges``: ids that span a shot cut;
- ``removed_precision`` / ``removed_recall``: ``removed`` events against the departures of the
  true tracks by the same rule (:func:`facekit.tracking.departures`, a face counting as present
  where it is not an ignore region), an event counting when it is the same face within one
  analysed frame or ``patience`` seconds.

Detections and truth are paired per frame by IoU >= 0.5 (Hungarian); detections on ignore
regions and true tracks that are only ever ignore regions are left out, as MOTChallenge does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..appearance import FEATURE_SIZE, face_features
from ..cuts import frame_signature
from ..geometry import iou_matrix, match
from ..table import BOX_COLUMNS
from ..tracking import TrackingSettings, departures

__all__ = ["cues", "score_tracks"]

MATCH_IOU = 0.5


def cues(faces: pd.DataFrame, frames: pd.DataFrame, pixels: Mapping[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Appearance features (per face row) and frame signatures (per analysed frame) from the decoded
    ``pixels`` of each analysed frame, for :func:`facekit.tracking.assign_tracks`."""
    features = np.full((len(faces), FEATURE_SIZE), np.nan, np.float32)
    frame_of = faces["frame"].to_numpy()
    boxes = faces[BOX_COLUMNS].to_numpy(np.float64)
    for frame in np.unique(frame_of):
        rows = np.flatnonzero(frame_of == frame)
        features[rows] = face_features(pixels[int(frame)], boxes[rows])
    signatures = np.stack([frame_signature(pixels[int(f)]) for f in frames["frame"]])
    return features, signatures


def score_tracks(
    faces: pd.DataFrame,
    removed: pd.DataFrame,
    frames: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    shot_starts: Sequence[int] = (0,),
    patience: float = TrackingSettings.patience,
) -> dict[str, float]:
    """Scores of ``faces`` (with ``track_id``) and ``removed`` over the analysed ``frames`` against
    ``truth`` (frame, track_id, x, y, w, h, ignore) of the same video."""
    from .tracking import tracking_metrics

    truth = truth[truth["frame"].isin(frames["frame"])].reset_index(drop=True)
    faces = faces[faces["track_id"].notna()].reset_index(drop=True)
    every_pair = _pairs(faces, truth)
    real = truth.loc[~truth["ignore"].astype(bool), "track_id"].unique()
    pairs = every_pair[every_pair["truth"].isin(real)]
    standard = tracking_metrics(truth.assign(source="v"), faces.assign(source="v"), frames.assign(source="v"))
    owner = every_pair.groupby("track")["truth"].agg(lambda ids: ids.value_counts().index[0])  # ignore-only too
    shot = np.searchsorted(np.asarray(shot_starts), faces["frame"].to_numpy(), side="right")
    return {
        **standard,
        "fragments": int((pairs.groupby("truth")["track"].nunique() - 1).sum()),
        "merges": int((pairs.groupby("track")["truth"].nunique() - 1).sum()),
        "cut_merges": int((pd.Series(shot).groupby(faces["track_id"].to_numpy()).nunique() > 1).sum()),
        **_removed_scores(removed, owner, frames, truth, real, patience),
    }


def _pairs(faces: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """(frame, track, truth) for each detection paired with a true face (IoU >= MATCH_IOU)."""
    found: list[tuple[int, int, int]] = []
    truth_rows = truth.groupby("frame").indices
    for key, rows in faces.groupby("frame").indices.items():
        frame = int(key)  # type: ignore[call-overload]  # groupby keys are typed Hashable
        here = truth_rows.get(frame)
        if here is None:
            continue
        overlap = iou_matrix(
            faces[BOX_COLUMNS].to_numpy(np.float64)[rows], truth[BOX_COLUMNS].to_numpy(np.float64)[here]
        )
        mine, theirs = match(overlap, MATCH_IOU)
        found.extend(zip([frame] * len(mine), faces["track_id"].to_numpy()[rows[mine]].tolist(),
                         truth["track_id"].to_numpy()[here[theirs]].tolist()))  # fmt: skip
    return pd.DataFrame(found, columns=["frame", "track", "truth"])


def _removed_scores(
    removed: pd.DataFrame,
    owner: pd.Series,
    frames: pd.DataFrame,
    truth: pd.DataFrame,
    real: np.ndarray,
    patience: float,
) -> dict[str, float]:
    """Precision and recall of ``removed`` events against the true departures (one-to-one, nearest first)."""
    expected = departures(truth[~truth["ignore"].astype(bool)], frames, patience)
    events = removed.assign(truth=removed["track_id"].map(owner))
    events = events[events["truth"].isin(real) | events["truth"].isna()]  # ignore-only faces: not scored
    position = pd.Series(np.arange(len(frames)), index=frames["frame"].to_numpy())
    clock = pd.Series(frames["time"].to_numpy(np.float64), index=frames["frame"].to_numpy())
    used: set[int] = set()
    hits = 0
    for frame, truth_id in zip(events["frame"].to_numpy(np.int64), events["truth"]):
        near = expected[(expected["track_id"] == truth_id) & ~expected.index.isin(used)]
        steps = np.abs(position[near["frame"]].to_numpy() - position[frame])
        seconds = np.abs(clock[near["frame"]].to_numpy() - clock[frame])
        ok = np.flatnonzero((steps <= 1) | (seconds <= patience))
        if ok.size:
            used.add(int(near.index[ok[np.argmin(steps[ok])]]))
            hits += 1
    return {
        "removed": len(events),
        "departures": len(expected),
        "removed_precision": hits / len(events) if len(events) else 1.0,
        "removed_recall": hits / len(expected) if len(expected) else 1.0,
    }
