"""Which candidates a Result shows: the faces at or above its threshold, numbered and tracked.

A pure function of the canonical :class:`~facekit.table.FaceTable` and two settings, so a
Result at another threshold is a new selection of the same table, never a change to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .table import BOX_COLUMNS, REMOVED_DTYPES, FaceTable, by_frame, empty, group_starts
from .tracking import assign_tracks

__all__ = ["Selection", "select"]


@dataclass(frozen=True, eq=False)
class Selection:
    """The kept faces as numpy columns (with ``face``, the position in its frame, and
    ``track_id``) and the removed boxes (last box of each track, at the frame it is gone)."""

    kept: dict[str, np.ndarray]
    removed: pd.DataFrame

    def __len__(self) -> int:
        return int(self.kept["frame"].size)


def select(table: FaceTable, confidence: float, single_face: bool = False) -> Selection:
    """The faces scoring at least ``confidence`` (unknown scores kept; the largest per frame with
    ``single_face``), numbered within their frame and tracked across the analysed frames."""
    columns = table.columns
    score = columns["score"]
    rows = np.flatnonzero((score >= confidence) | np.isnan(score))
    if single_face and rows.size:
        frame = columns["frame"][rows]
        order = np.lexsort((-(columns["w"][rows] * columns["h"][rows]), frame))  # stable: ties keep score order
        rows = np.sort(rows[order[group_starts(frame[order])]])
    every = rows.size == score.size  # nothing dropped: share the columns, which are never modified
    kept = {name: values if every else values[rows] for name, values in columns.items()}
    position = np.arange(rows.size)
    kept["face"] = position - np.maximum.accumulate(np.where(group_starts(kept["frame"]), position, 0))
    features = None if table.features is None else (table.features if every else table.features[rows])
    kept["track_id"], removed = _track(table, kept, features)
    return Selection(kept, table.removed if table.removed is not None else removed)


def _track(
    table: FaceTable, kept: dict[str, np.ndarray], features: np.ndarray | None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Track ids (as given by the source, else from the tracker) and the tracker's removed boxes."""
    given = kept["track_id"]
    if given.size and not np.isnan(given).any():  # ids a hosted answer gave are kept as given
        return given, _NO_REMOVED
    if table.frame_index.size <= 1:  # one picture: each face is a track of its own
        return kept["face"].astype(np.float64), _NO_REMOVED
    faces = pd.DataFrame({name: kept[name] for name in ("frame", "time", "score", *BOX_COLUMNS, "face")})
    track_ids, removed = assign_tracks(faces, table.frames(), features=features, signatures=table.signatures)
    return np.asarray(track_ids, dtype=np.float64), by_frame(removed)


_NO_REMOVED = empty(REMOVED_DTYPES)
