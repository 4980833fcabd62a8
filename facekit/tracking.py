"""Track ids and ``removed`` boxes across the analysed frames of a result.

Pure table-in, table-out, in three passes, every rule in seconds so that it holds alike for five
sampled frames and for every frame of a video:

1. Shots: analysed frames are split where the frame signature jumps (:mod:`facekit.cuts`); no
   track crosses a cut.
2. Online, frame by frame within a shot: faces and camera are followed apart. The camera's
   position at each analysed frame is the median move of the faces seen in two frames running
   (its velocity predicts the next move); each track keeps its place in the scene and its own
   velocity there. A track is predicted where its own motion and the camera's lead; the move of
   the camera that those predictions missed (a pan that turned between samples) is the one that
   brings the most predictions onto faces that look alike. That move is *uncertain* when another
   one explains nearly as many faces (a row of faces shifted by one place), or when most
   predictions land among faces that look unlike them (views that do not overlap); then nothing
   is matched by place, only by appearance. An optimal assignment
   (``scipy.optimize.linear_sum_assignment``, leaving a pair unmatched at half the dearest allowed
   cost) pairs predictions and detections within a gate of place, size and appearance
   (:mod:`facekit.appearance`); a match by appearance alone must be clearly nearer than the
   detection's nearest look-alike in its own frame (a ratio test). A track unmatched for up to
   ``patience`` seconds is still looked for.
3. Offline, since facekit has seen the whole video: fragments of one person within a shot (same
   place in the scene, or same appearance, never overlapping in time) are joined into one id,
   nearest in time first; place says nothing across an uncertain camera move.

``removed`` then lists the last box of a track at the first analysed frame after each of its
visits ends; a visit ends where the track is absent for more than ``patience`` seconds, or for
good. A face missing for a moment is one track with a gap, not a removal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .appearance import feature_distances
from .cuts import CUT_THRESHOLD, shots
from .errors import InvalidInputError
from .geometry import centres
from .table import BOX_COLUMNS, REMOVED_DTYPES, empty, typed

__all__ = ["TrackingSettings", "assign_tracks", "departures"]

_NO_MATCH = 1e6
SHIFT_MARGIN = 1.5
"""How many times more faces the camera move must explain than any other move for it to be certain."""
_RATIO = 2.0
"""Lowe's ratio: a face matched by appearance must be this many times nearer than the next candidate."""
_MAX_CANDIDATES = 128


@dataclass(frozen=True)
class TrackingSettings:
    """Every limit of the tracker; times in seconds (frame indices where a video has no timestamps)."""

    patience: float = 1.0
    """Longest absence of a face that keeps its track going without a ``removed`` entry."""
    relink: float = 10.0
    """Longest gap between two fragments of a track (same shot) that offline re-linking may join."""
    gate: float = 1.5
    """Largest distance between a predicted and a detected face centre, in face sizes, for a match."""
    max_scale: float = 2.0
    """Largest change of a face's size between two sightings for a match."""
    appearance_gate: float = 0.9
    """Largest appearance distance (:func:`facekit.appearance.feature_distances`) for a match."""
    same_appearance: float = 0.35
    """Appearance distance under which two fragments anywhere in a shot are taken to be one face."""
    speed: float = 5.0
    """Fastest a face is taken to move unseen, in face sizes per second: a face of the same
    appearance is matched or re-linked up to ``gate`` plus this times the time elapsed from where
    its motion leads (so one that walked out at one side does not come back at the other)."""
    appearance_weight: float = 1.0
    """Weight of appearance distance against place (face sizes) in the cost of a match."""
    cut_threshold: float = CUT_THRESHOLD
    """Frame signature distance above which two analysed frames are in different shots."""
    smoothing: float = 0.5
    """Weight of the newest measurement in a track's velocity."""
    consensus: int = 3
    """Fewest faces that must move together before their common motion counts as a camera move."""
    tolerance: float = 0.5
    """Distance, in face sizes, within which a shifted prediction explains a detection."""

    def __post_init__(self) -> None:
        limits = (
            "patience",
            "relink",
            "gate",
            "speed",
            "appearance_gate",
            "same_appearance",
            "cut_threshold",
            "tolerance",
        )
        for name in limits:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value >= 0:
                raise InvalidInputError(f"TrackingSettings.{name} must be a number >= 0, got {value!r}")
        if not self.max_scale >= 1.0 or not 0.0 < self.smoothing <= 1.0 or self.consensus < 1:
            raise InvalidInputError("TrackingSettings: max_scale >= 1, 0 < smoothing <= 1 and consensus >= 1")


def assign_tracks(
    faces: pd.DataFrame,
    frames: pd.DataFrame,
    *,
    features: np.ndarray | None = None,
    signatures: np.ndarray | None = None,
    settings: TrackingSettings | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Give each face a track id and list the last box of each track at the first frame after it left.

    ``faces`` holds one row per kept face (columns frame, x, y, w, h; any order); ``frames`` lists
    the analysed frames (frame, time) in increasing order. ``features`` (one appearance descriptor per
    face row, NaN rows unknown) and ``signatures`` (one per analysed frame, for cuts) are optional:
    without them tracking relies on motion and time alone. A single picture has no motion to
    follow, so each of its faces is a track of its own. Returns the ids (numbered in order of first
    appearance) and ``removed`` (frame, track_id, x, y, w, h).
    """
    settings = settings or TrackingSettings()
    features = _checked(features, len(faces), "features", "faces")
    signatures = _checked(signatures, len(frames), "signatures", "frames")
    if len(frames) <= 1:
        track_ids = faces.groupby("frame", sort=False).cumcount().to_numpy(np.int64)
        return track_ids, empty(REMOVED_DTYPES)
    boxes = faces[BOX_COLUMNS].to_numpy(np.float64)
    clock = _clock(frames)
    shot = shots(signatures, len(frames), settings.cut_threshold)
    if (np.diff(frames["frame"].to_numpy()) <= 0).any():
        raise InvalidInputError("the analysed frames must be in increasing order, each once")
    position = np.searchsorted(frames["frame"].to_numpy(), faces["frame"].to_numpy())
    if len(faces) and not (frames["frame"].to_numpy()[np.minimum(position, len(frames) - 1)] == faces["frame"]).all():
        raise InvalidInputError("every face's frame must be one of the analysed frames")
    rivals = _row_rivals(features, position)
    pieces, camera, trusted = _online(boxes, features, rivals, position, clock, shot, settings)
    scene = boxes.copy()
    scene[:, :2] -= camera[position]  # where each face is in the scene the camera moves over
    track_ids = _relink(pieces, scene, features, rivals, position, clock, shot, trusted, settings)
    return track_ids, _removed(track_ids, boxes, position, frames["frame"].to_numpy(), clock, settings.patience)


def departures(faces: pd.DataFrame, frames: pd.DataFrame, patience: float = TrackingSettings.patience) -> pd.DataFrame:
    """The ``removed`` table that the rule of :func:`assign_tracks` gives for faces whose ``track_id``
    is already known (a tracker's, or a ground truth's): the last box of each visit of a track, at
    the first analysed frame after it, where a visit ends when the track is away more than ``patience``."""
    known = faces[faces["track_id"].notna()]
    position = np.searchsorted(frames["frame"].to_numpy(), known["frame"].to_numpy())
    return _removed(
        known["track_id"].to_numpy(np.int64),
        known[BOX_COLUMNS].to_numpy(np.float64),
        position,
        frames["frame"].to_numpy(),
        _clock(frames),
        patience,
    )


def _checked(values: np.ndarray | None, rows: int, name: str, table: str) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or len(array) != rows:
        raise InvalidInputError(f"{name} must have one row per row of {table} ({rows}), got shape {array.shape}")
    return array


def _clock(frames: pd.DataFrame) -> np.ndarray:
    """Seconds of each analysed frame; frame indices where any time is missing."""
    times = frames["time"].to_numpy(np.float64)
    return frames["frame"].to_numpy(np.float64) if np.isnan(times).any() else times


def _row_rivals(features: np.ndarray | None, position: np.ndarray) -> np.ndarray:
    """Per face, the appearance distance to the nearest other face of its frame (inf if none known)."""
    rivals = np.full(len(position), np.inf)
    if features is not None:
        for rows in pd.Series(np.arange(len(position))).groupby(position).indices.values():
            rivals[rows] = _rivals(features[rows])
    return rivals


def _online(
    boxes: np.ndarray,
    features: np.ndarray | None,
    rivals: np.ndarray,
    position: np.ndarray,
    clock: np.ndarray,
    shot: np.ndarray,
    settings: TrackingSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fragment id of each face (frame-by-frame association within each shot), the camera's
    position at each analysed frame and whether its move into that frame was certain."""
    order = np.argsort(position, kind="stable")  # rows frame by frame, whatever order they came in
    starts = np.searchsorted(position[order], np.arange(len(clock) + 1))
    ids = np.full(len(boxes), -1, dtype=np.int64)
    camera = np.zeros((len(clock), 2))
    certain = np.ones(len(clock), bool)
    tracker = _Tracker(settings)
    for index, now in enumerate(clock):
        if index and shot[index] != shot[index - 1]:
            tracker = _Tracker(settings, next_id=tracker.next_id)  # a cut ends every track
        rows = order[starts[index] : starts[index + 1]]
        ids[rows] = tracker.step(boxes[rows], None if features is None else features[rows], rivals[rows], float(now))
        camera[index], certain[index] = tracker.camera, tracker.certain
    return ids, camera, certain


@dataclass
class _Tracker:
    """The live tracks (last box in the frame and in the scene, own velocity in the scene, appearance,
    time last seen, whether seen last frame) and the camera (its position and velocity)."""

    settings: TrackingSettings
    next_id: int = 0
    boxes: np.ndarray = field(default_factory=lambda: np.empty((0, 4)))
    scene: np.ndarray = field(default_factory=lambda: np.empty((0, 4)))
    velocity: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    looks: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    seen: np.ndarray = field(default_factory=lambda: np.empty(0))
    fresh: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    camera: np.ndarray = field(default_factory=lambda: np.zeros(2))
    """Where the camera is: the sum of its moves, each the median move of the faces seen in two frames running."""
    pan: np.ndarray = field(default_factory=lambda: np.zeros(2))
    """The camera's last velocity (pixels per second), which predicts its next move."""
    clock: float | None = None
    certain: bool = True
    """Whether this frame's camera move was unambiguous (faces can be found again by place)."""

    def step(self, detections: np.ndarray, looks: np.ndarray | None, rivals: np.ndarray, clock: float) -> np.ndarray:
        """Match one frame's boxes to the live tracks; returns their ids."""
        s = self.settings
        alive = self.fresh | (clock - self.seen <= s.patience)  # seen in the last analysed frame, or lately
        self._keep(alive)
        if looks is None:
            looks = np.full((len(detections), self.looks.shape[1] or 1), np.nan)
        if self.looks.shape[1] != looks.shape[1]:
            self.looks = np.full((len(self.ids), looks.shape[1]), np.nan)
        elapsed = 0.0 if self.clock is None else clock - self.clock
        expected = self.camera + self.pan * elapsed
        predicted = self.scene.copy()
        predicted[:, :2] += np.nan_to_num(self.velocity) * (clock - self.seen)[:, None] + expected
        unlike = feature_distances(self.looks, looks)
        shift, self.certain = _camera_shift(predicted, detections, unlike, rivals, s)
        predicted[:, :2] += shift
        reach = s.gate + s.speed * (clock - self.seen)
        pairs = _match(predicted, detections, unlike, rivals, reach, self.certain, s)
        steps = centres(detections[pairs[:, 1]]) - centres(self.boxes[pairs[:, 0]])
        steps = steps[self.fresh[pairs[:, 0]]]  # faces seen in the previous analysed frame too
        camera = self.camera + np.median(steps, axis=0) if len(steps) >= s.consensus else expected + shift
        if elapsed > 0:
            self.pan = (camera - self.camera) / elapsed
        self.camera, self.clock = camera, clock
        ids = np.full(len(detections), -1, dtype=np.int64)
        matched = np.zeros(len(self.ids), dtype=bool)
        tracks, dets = pairs[:, 0], pairs[:, 1]
        ids[dets] = self.ids[tracks]
        matched[tracks] = True
        self._update(tracks, detections[dets], looks[dets], clock)
        self.fresh = matched
        new = np.flatnonzero(ids < 0)
        ids[new] = np.arange(self.next_id, self.next_id + len(new))
        self.next_id += len(new)
        self.boxes = np.vstack([self.boxes, detections[new]])
        self.scene = np.vstack([self.scene, self._in_scene(detections[new])])
        self.velocity = np.vstack([self.velocity, np.full((len(new), 2), np.nan)])
        self.looks = np.vstack([self.looks, looks[new]])
        self.seen = np.concatenate([self.seen, np.full(len(new), clock)])
        self.fresh = np.concatenate([self.fresh, np.ones(len(new), bool)])
        self.ids = np.concatenate([self.ids, ids[new]])
        return ids

    def _keep(self, alive: np.ndarray) -> None:
        self.boxes, self.scene, self.velocity, self.looks, self.seen, self.fresh, self.ids = (
            a[alive] for a in (self.boxes, self.scene, self.velocity, self.looks, self.seen, self.fresh, self.ids)
        )

    def _in_scene(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes of this frame where they are in the scene (the camera's moves taken off)."""
        moved = boxes.copy()
        moved[:, :2] -= self.camera
        return moved

    def _update(self, tracks: np.ndarray, boxes: np.ndarray, looks: np.ndarray, clock: float) -> None:
        """Take matches in: the new boxes, the faces' own velocities in the scene, their appearance."""
        elapsed = (clock - self.seen[tracks])[:, None]
        scene = self._in_scene(boxes)
        with np.errstate(invalid="ignore", divide="ignore"):
            measured = (centres(scene) - centres(self.scene[tracks])) / elapsed
        old = self.velocity[tracks]
        w = self.settings.smoothing
        smoothed = np.where(np.isnan(old), measured, w * measured + (1 - w) * old)
        self.velocity[tracks] = np.where(elapsed > 0, smoothed, old)
        old_looks = self.looks[tracks]
        mixed = np.where(np.isnan(old_looks).any(axis=1, keepdims=True), looks, 0.5 * (looks + old_looks))
        self.looks[tracks] = np.where(np.isnan(looks).any(axis=1, keepdims=True), old_looks, mixed)
        self.boxes[tracks], self.scene[tracks] = boxes, scene
        self.seen[tracks] = clock


def _sizes(boxes: np.ndarray) -> np.ndarray:
    return np.sqrt(boxes[:, 2] * boxes[:, 3])


def _camera_shift(
    predicted: np.ndarray, detections: np.ndarray, looks: np.ndarray, rivals: np.ndarray, s: TrackingSettings
) -> tuple[np.ndarray, bool]:
    """The translation that moves the most predicted faces onto detected ones of the same size that
    do not look unlike (a camera pan between sparse samples), and whether it is certain.

    The predictions stand unless a move explains ``consensus`` faces more than they do, and two thirds
    of the faces that have a look-alike to vote with (else some people walk together, and others not;
    without appearance, half the faces). A move is
    uncertain when another one, a face size away, explains nearly as many faces (:data:`SHIFT_MARGIN`:
    a row of faces shifted by one place), or when faces that look alike vote for a move more than for
    the predictions but not clearly; then faces are found again by appearance only."""
    if min(len(predicted), len(detections)) < s.consensus:
        return np.zeros(2), True
    size = _sizes(predicted)[:, None]
    offsets = centres(detections)[None, :, :] - centres(predicted)[:, None, :]  # tracks x detections x 2
    compatible = np.abs(np.log(_sizes(detections)[None, :] / size)) <= np.log(s.max_scale)
    compatible &= ~(looks > np.minimum(s.same_appearance, rivals[None, :] / _RATIO))  # unknown (NaN) does not object
    candidates = np.vstack([np.zeros((1, 2)), offsets[compatible]])
    if len(candidates) > _MAX_CANDIDATES:
        candidates = candidates[np.linspace(0, len(candidates) - 1, _MAX_CANDIDATES).astype(np.int64)]
    near = np.linalg.norm(offsets[None] - candidates[:, None, None, :], axis=3) / size[None] < s.tolerance
    near &= compatible[None]
    votes = near.any(axis=2).sum(axis=1)
    reach = 2 * s.tolerance * float(np.median(size))  # candidates this far apart are different moves
    moved = np.linalg.norm(candidates, axis=1) > reach
    still = int(votes[~moved].max())
    best = int(np.argmax(np.where(moved, votes, -1)))
    if not moved.any() or votes[best] < s.consensus or votes[best] <= still:
        return np.zeros(2), _confirmed(offsets, looks, rivals, size, s)
    informed = not np.isnan(looks).all()
    voters = compatible.any(axis=1).sum() * 2 / 3 if informed else min(len(predicted), len(detections)) / 2
    if votes[best] < max(still + s.consensus, voters):
        # unclear (without appearance, likely a row of faces shifted by one), or a group walking together
        return np.zeros(2), not informed
    apart = np.linalg.norm(candidates - candidates[best], axis=1) > reach
    rival = int(votes[apart].max())
    shift = np.median(offsets[near[best]], axis=0)
    certain = rival < s.consensus or votes[best] >= SHIFT_MARGIN * rival
    return shift, bool(certain) and _confirmed(offsets - shift, looks, rivals, size, s)


def _confirmed(
    offsets: np.ndarray, looks: np.ndarray, rivals: np.ndarray, size: np.ndarray, s: TrackingSettings
) -> bool:
    """False when at least ``consensus`` predictions fall near faces of known appearance and most of
    them, and all but a few, find none there that looks alike (or at least twice as alike as the
    face's nearest neighbour in its frame): the camera moved in a way the faces do not show (views
    that do not overlap). Faces clipped at an edge, or turning, look unlike themselves: a few may."""
    close = (np.linalg.norm(offsets, axis=2) / size <= s.gate) & ~np.isnan(looks)
    landed = int(close.any(axis=1).sum())
    alike = looks <= np.maximum(s.same_appearance, rivals[None, :] / _RATIO)
    confirmed = int((close & alike).any(axis=1).sum())
    return landed < s.consensus or confirmed >= min(landed / 2, s.consensus)


def _rivals(looks: np.ndarray) -> np.ndarray:
    """Appearance distance from each face to the nearest other face of its frame (inf if none known)."""
    apart = feature_distances(looks, looks)
    np.fill_diagonal(apart, np.inf)
    return np.where(np.isnan(apart), np.inf, apart).min(axis=1, initial=np.inf)


def _match(
    predicted: np.ndarray,
    detections: np.ndarray,
    looks: np.ndarray,
    rivals: np.ndarray,
    reach: np.ndarray,
    certain: bool,
    s: TrackingSettings,
) -> np.ndarray:
    """Optimal (track, detection) pairs within the gates (near where predicted and not unlike, unless
    the camera move is uncertain; or anywhere if alike, and clearly nearer than the detection's look-alikes
    in its own frame); cost: centre distance in face sizes, size change and appearance distance."""
    if len(predicted) == 0 or len(detections) == 0:
        return np.empty((0, 2), dtype=np.int64)
    size = _sizes(predicted)[:, None]
    distance = np.linalg.norm(centres(predicted)[:, None, :] - centres(detections)[None, :, :], axis=2) / size
    scale = np.abs(np.log(_sizes(detections)[None, :] / size))
    unlike = np.nan_to_num(looks, nan=0.0)
    cost = distance + scale + s.appearance_weight * unlike
    near = ((distance <= s.gate) & (unlike <= s.appearance_gate) | (distance <= s.tolerance)) & certain
    alike = (looks <= np.minimum(s.same_appearance, rivals[None, :] / _RATIO)) & (distance <= reach[:, None])
    alike &= _unambiguous(looks)  # sparse samples
    cost[~(near | alike) | (scale > np.log(s.max_scale))] = _NO_MATCH
    return _assign(cost)


def _assign(cost: np.ndarray) -> np.ndarray:
    """Cheapest (row, column) pairs with costs under :data:`_NO_MATCH`, where leaving a row and a
    column unpaired costs as much as the dearest allowed pair (lapjv's ``cost_limit``): a pairing
    that shifts a row of look-alikes by one place, only to pair one more, never wins."""
    from scipy.optimize import linear_sum_assignment  # deferred: SciPy costs ~0.3 s at `import facekit`

    allowed = cost < _NO_MATCH
    if not allowed.any():
        return np.empty((0, 2), dtype=np.int64)
    rows, cols = cost.shape
    alone = float(cost[allowed].max()) / 2 + 1e-6
    full = np.full((rows + cols, cols + rows), _NO_MATCH)
    full[:rows, :cols] = cost
    full[:rows, cols:][np.diag_indices(rows)] = alone
    full[rows:, :cols][np.diag_indices(cols)] = alone
    full[rows:, cols:] = 0.0
    tracks, dets = linear_sum_assignment(full)
    good = (tracks < rows) & (dets < cols)
    good[good] = allowed[tracks[good], dets[good]]
    return np.column_stack([tracks[good], dets[good]]).astype(np.int64)


def _unambiguous(looks: np.ndarray, ratio: float = _RATIO) -> np.ndarray:
    """Pairs whose appearance distance is the smallest of both their row and their column by a
    ``ratio`` (Lowe's ratio test): in a crowd of look-alikes, appearance alone decides nothing."""
    known = np.where(np.isnan(looks), np.inf, looks)
    if known.size == 0:
        return np.zeros(known.shape, bool)
    clear = np.ones(known.shape, bool)
    for axis in (0, 1):
        if known.shape[axis] > 1:
            two = np.partition(known, 1, axis=axis).take([0, 1], axis=axis)
            best, second = two.take(0, axis=axis), two.take(1, axis=axis)
            clear &= (known == np.expand_dims(best, axis)) & (np.expand_dims(second, axis) >= ratio * known)
    return clear


def _relink(
    pieces: np.ndarray,
    boxes: np.ndarray,
    features: np.ndarray | None,
    rivals: np.ndarray,
    position: np.ndarray,
    clock: np.ndarray,
    shot: np.ndarray,
    trusted: np.ndarray,
    s: TrackingSettings,
) -> np.ndarray:
    """Final ids: fragments joined into chains (same shot, one after the other, same place in the
    scene or same appearance), cheapest joins first, numbered by first appearance. Place says nothing
    across a camera move that was uncertain: such a join needs appearance alone, and a clear one."""
    count = int(pieces.max()) + 1 if len(pieces) else 0
    if count == 0:
        return pieces
    order = np.lexsort((position, pieces))  # rows of each fragment, in time
    first_row = np.full(count, -1, np.int64)
    last_row = np.full(count, -1, np.int64)
    first_row[pieces[order[::-1]]] = order[::-1]
    last_row[pieces[order]] = order
    ranks = np.empty_like(order)
    ranks[order] = np.arange(len(order))
    before = order[np.maximum(ranks[last_row] - 1, 0)]
    before = np.where(pieces[before] == np.arange(count), before, last_row)  # one-row fragments: no motion
    start, end = clock[position[first_row]], clock[position[last_row]]
    elapsed = end - clock[position[before]]
    with np.errstate(invalid="ignore", divide="ignore"):
        velocity = np.nan_to_num((centres(boxes[last_row]) - centres(boxes[before])) / elapsed[:, None])
    piece_shot = shot[position[first_row]]
    doubts = np.cumsum(~trusted)  # uncertain camera moves up to each analysed frame
    looks = _mean_looks(pieces, features, count)
    joins: list[tuple[float, int, int]] = []
    by_start = np.argsort(start, kind="stable")
    sorted_start = start[by_start]
    for a in range(count):
        lo, hi = np.searchsorted(sorted_start, [end[a], end[a] + s.relink], side="right")
        later = by_start[lo:hi]
        later = later[(piece_shot[later] == piece_shot[a]) & (start[later] > end[a])]
        if not len(later):
            continue
        last, firsts = boxes[last_row[a]][None], boxes[first_row[later]]
        moved = centres(last) + velocity[a] * (start[later] - end[a])[:, None]  # where its motion leads
        distance = (
            np.minimum(
                np.linalg.norm(centres(firsts) - centres(last), axis=1), np.linalg.norm(centres(firsts) - moved, axis=1)
            )
            / _sizes(last)[0]
        )
        scale = np.abs(np.log(_sizes(firsts) / _sizes(last)[0])) <= np.log(s.max_scale)
        unlike = feature_distances(looks[a], looks[later])[0]
        unplaced = doubts[position[first_row[later]]] > doubts[position[last_row[a]]]
        near = (distance <= s.gate) & ~(unlike > s.appearance_gate) & ~unplaced
        alike = unlike <= np.minimum(s.same_appearance, rivals[first_row[later]] / _RATIO)
        alike &= (distance <= s.gate + s.speed * (start[later] - end[a])) | unplaced
        alike &= _unambiguous(unlike[None])[0]
        waits = (start[later] - end[a]) / max(s.relink, 1e-9)  # of equal joins, the nearest in time first
        for b, d, u, wait, ok in zip(later, distance, unlike, waits, (near | alike) & scale):
            if ok:
                joins.append((float(u if np.isfinite(u) else d) + float(wait), a, int(b)))
    successor = np.full(count, -1, np.int64)
    predecessor = np.full(count, -1, np.int64)
    for _, a, b in sorted(joins):
        if successor[a] < 0 and predecessor[b] < 0:
            successor[a], predecessor[b] = b, a
    root = np.arange(count)
    for head in np.flatnonzero(predecessor < 0):
        link = successor[head]
        while link >= 0:
            root[link] = head
            link = successor[link]
    chains = root[pieces]
    _, first_seen = np.unique(chains, return_index=True)
    rank = np.empty(count, np.int64)
    rank[np.unique(chains)[np.argsort(first_seen, kind="stable")]] = np.arange(len(first_seen))
    return rank[chains]


def _mean_looks(pieces: np.ndarray, features: np.ndarray | None, count: int) -> np.ndarray:
    """Mean appearance descriptor of each fragment over its known rows (NaN if none)."""
    if features is None:
        return np.full((count, 1), np.nan)
    known = ~np.isnan(features).any(axis=1)
    sums = np.zeros((count, features.shape[1]))
    np.add.at(sums, pieces[known], features[known])
    n = np.bincount(pieces[known], minlength=count).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / n[:, None]


def _removed(
    track_ids: np.ndarray,
    boxes: np.ndarray,
    position: np.ndarray,
    frame_index: np.ndarray,
    clock: np.ndarray,
    patience: float,
) -> pd.DataFrame:
    """The last box of each visit of each track, at the first analysed frame after the visit ends:
    where the track is absent from the next analysed frame and not back within ``patience`` seconds."""
    order = np.lexsort((position, track_ids))
    ids, where = track_ids[order], position[order]
    same_next = np.append(ids[1:] == ids[:-1], False)
    following = np.where(same_next, np.append(where[1:], 0), len(clock))
    resumes = np.where(same_next, clock[following.clip(max=len(clock) - 1)], np.inf)
    ends = (following > where + 1) & (resumes - clock[where] > patience)
    ends &= where + 1 < len(clock)
    rows = order[ends]
    table = pd.DataFrame({"frame": frame_index[where[ends] + 1], "track_id": track_ids[rows]})
    table[BOX_COLUMNS] = boxes[rows]
    return typed(table.sort_values(["frame", "track_id"], kind="stable"), REMOVED_DTYPES)
