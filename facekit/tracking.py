"""Track ids and ``removed`` boxes across the analysed frames of a result."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frame import REMOVED_DTYPES, empty


def assign_tracks(faces: pd.DataFrame, frames: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Give each face a track id and list, per frame, the last boxes of tracks that vanished.

    ``faces`` holds one row per kept face (columns frame, x, y, w, h, score), sorted by frame
    and then by position in the frame; ``frames`` lists the analysed frames in order. A single
    picture has no motion to follow, so each of its faces is a track of its own.
    """
    if len(frames) <= 1:
        track_ids = faces.groupby("frame", sort=False).cumcount().to_numpy(np.int64)
        return track_ids, empty(REMOVED_DTYPES)
    raise NotImplementedError("tracking across video frames arrives with video support")
