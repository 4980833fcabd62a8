"""Track ids and ``removed`` boxes across the analysed frames of a result.

Pure table-in, table-out: each track predicts where its face is at the next analysed frame from
its own velocity (constant-velocity model, in seconds, so sparse samples far apart are predicted
as well as neighbouring frames; new faces start with the common velocity of the others), the
common motion of all faces (a camera pan) corrects the predictions, and an optimal assignment (``scipy.optimize.linear_sum_assignment``) pairs
predictions and detections within a gate. Tracks survive a few missed frames; faces that match
nothing (after a cut, say) start new tracks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .table import BOX_COLUMNS, REMOVED_DTYPES, empty, typed

GATE = 1.5
"""Largest distance between a predicted and a detected face centre, in face sizes, for a match."""
MAX_SCALE = 2.0
"""Largest change of a face's size between two analysed frames for a match."""
MAX_MISSES = 5
"""Analysed frames a track may go unmatched and still continue when its face comes back."""
SMOOTHING = 0.5
"""Weight of the newest measurement in a track's velocity."""
CONSENSUS = 3
"""Fewest faces that must move together before their common motion counts as a camera move."""
TOLERANCE = 0.5
"""Distance, in face sizes, within which a shifted prediction explains a detection."""
_MAX_CANDIDATES = 128
_NO_MATCH = 1e6


def assign_tracks(faces: pd.DataFrame, frames: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Give each face a track id and list, per frame, the last boxes of tracks that vanished.

    ``faces`` holds one row per kept face (columns frame, x, y, w, h, score), sorted by frame
    and then by position in the frame; ``frames`` lists the analysed frames in order. A single
    picture has no motion to follow, so each of its faces is a track of its own. ``removed``
    lists, at each frame, the last box of every track present in the previous analysed frame
    and absent from this one (frame, track_id, x, y, w, h).
    """
    if len(frames) <= 1:
        track_ids = faces.groupby("frame", sort=False).cumcount().to_numpy(np.int64)
        return track_ids, empty(REMOVED_DTYPES)
    boxes = faces[BOX_COLUMNS].to_numpy(np.float64)
    rows_by_frame = faces.groupby("frame", sort=False).indices
    track_ids = np.full(len(faces), -1, dtype=np.int64)
    tracker = _Tracker()
    removed: list[tuple] = []
    for frame, clock in zip(frames["frame"].tolist(), _clock(frames)):
        rows = rows_by_frame.get(frame, np.empty(0, np.int64))
        ids, gone = tracker.step(boxes[rows], clock)
        track_ids[rows] = ids
        removed.extend((frame, track_id, *box) for track_id, box in gone)
    table = pd.DataFrame(removed, columns=list(REMOVED_DTYPES)) if removed else empty(REMOVED_DTYPES)
    return track_ids, typed(table, REMOVED_DTYPES)


def _clock(frames: pd.DataFrame) -> np.ndarray:
    """Seconds of each analysed frame; frame indices where any time is missing (then in frames, not s)."""
    times = frames["time"].to_numpy(np.float64)
    return frames["frame"].to_numpy(np.float64) if np.isnan(times).any() else times


@dataclass
class _Tracker:
    """The live tracks: last box, velocity of the centre, time last seen, frames missed since."""

    boxes: np.ndarray = field(default_factory=lambda: np.empty((0, 4)))
    velocity: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    seen: np.ndarray = field(default_factory=lambda: np.empty(0))
    misses: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    next_id: int = 0

    def step(self, detections: np.ndarray, clock: float) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
        """Match one frame's boxes to the tracks; returns their ids and the (id, last box) of tracks just lost."""
        predicted = self._predict(clock)
        predicted[:, :2] += _common_shift(predicted, detections)
        pairs = _match(predicted, detections)
        ids = np.full(len(detections), -1, dtype=np.int64)
        matched = np.zeros(len(self.ids), dtype=bool)
        for track, det in pairs:
            ids[det] = self.ids[track]
            matched[track] = True
            self._update(track, detections[det], clock)
        moving = self.velocity[matched & ~np.isnan(self.velocity).any(axis=1)]
        drift = np.median(moving, axis=0) if len(moving) >= CONSENSUS else np.full(2, np.nan)
        lost = [(int(self.ids[t]), self.boxes[t].copy()) for t in np.flatnonzero(~matched & (self.misses == 0))]
        self.misses[~matched] += 1
        keep = self.misses <= MAX_MISSES
        self.boxes, self.velocity, self.seen, self.misses, self.ids = (
            a[keep] for a in (self.boxes, self.velocity, self.seen, self.misses, self.ids)
        )
        fresh = np.flatnonzero(ids < 0)
        ids[fresh] = np.arange(self.next_id, self.next_id + len(fresh))
        self.next_id += len(fresh)
        self.boxes = np.vstack([self.boxes, detections[fresh]])
        self.velocity = np.vstack([self.velocity, np.tile(drift, (len(fresh), 1))])  # new faces move with the camera
        self.seen = np.concatenate([self.seen, np.full(len(fresh), clock)])
        self.misses = np.concatenate([self.misses, np.zeros(len(fresh), np.int64)])
        self.ids = np.concatenate([self.ids, ids[fresh]])
        return ids, lost

    def _predict(self, clock: float) -> np.ndarray:
        """Each track's box moved by its velocity to ``clock`` (unmoved while its velocity is unknown)."""
        moved = self.boxes.copy()
        moved[:, :2] += np.nan_to_num(self.velocity) * (clock - self.seen)[:, None]
        return moved

    def _update(self, track: int, box: np.ndarray, clock: float) -> None:
        elapsed = clock - self.seen[track]
        if elapsed > 0:
            measured = (_centres(box[None])[0] - _centres(self.boxes[track][None])[0]) / elapsed
            old = self.velocity[track]
            self.velocity[track] = measured if np.isnan(old).any() else SMOOTHING * measured + (1 - SMOOTHING) * old
        self.boxes[track] = box
        self.seen[track] = clock
        self.misses[track] = 0


def _centres(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, :2] + boxes[:, 2:] / 2


def _common_shift(predicted: np.ndarray, detections: np.ndarray) -> np.ndarray:
    """The translation that moves the most predicted faces onto detected ones (a camera pan between
    sparse samples); zero unless at least ``CONSENSUS`` faces and half of them agree on it."""
    needed = max(CONSENSUS, 0.5 * min(len(predicted), len(detections)))
    if min(len(predicted), len(detections)) < needed:
        return np.zeros(2)
    size = np.sqrt(predicted[:, 2] * predicted[:, 3])[:, None]
    offsets = _centres(detections)[None, :, :] - _centres(predicted)[:, None, :]  # tracks x detections x 2
    compatible = np.abs(np.log(np.sqrt(detections[:, 2] * detections[:, 3])[None, :] / size)) <= np.log(MAX_SCALE)
    candidates = offsets[compatible]
    if len(candidates) > _MAX_CANDIDATES:
        candidates = candidates[np.linspace(0, len(candidates) - 1, _MAX_CANDIDATES).astype(np.int64)]
    near = np.linalg.norm(offsets[None] - candidates[:, None, None, :], axis=3) / size[None] < TOLERANCE
    near &= compatible[None]
    explained = near.any(axis=2).sum(axis=1)
    if len(candidates) == 0 or explained.max() < needed:
        return np.zeros(2)
    best = np.flatnonzero(explained == explained.max())
    chosen = best[np.argmin(np.linalg.norm(candidates[best], axis=1))]  # of equals, the smallest move
    return np.median(offsets[near[chosen]], axis=0)


def _match(predicted: np.ndarray, detections: np.ndarray) -> np.ndarray:
    """Optimal (track, detection) pairs within the gate; cost: centre distance in face sizes plus size change."""
    if len(predicted) == 0 or len(detections) == 0:
        return np.empty((0, 2), dtype=np.int64)
    size = np.sqrt(predicted[:, 2] * predicted[:, 3])[:, None]
    distance = np.linalg.norm(_centres(predicted)[:, None, :] - _centres(detections)[None, :, :], axis=2) / size
    scale = np.abs(np.log(np.sqrt(detections[:, 2] * detections[:, 3])[None, :] / size))
    cost = distance + scale
    cost[(distance > GATE) | (scale > np.log(MAX_SCALE))] = _NO_MATCH
    from scipy.optimize import linear_sum_assignment  # deferred: SciPy costs ~0.3 s at `import facekit`

    tracks, dets = linear_sum_assignment(cost)
    good = cost[tracks, dets] < _NO_MATCH
    return np.column_stack([tracks[good], dets[good]]).astype(np.int64)
