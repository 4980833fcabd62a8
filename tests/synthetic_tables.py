"""Synthetic face tables for tests that need no model: known boxes, scores and landmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from facekit.table import BOX_COLUMNS, LANDMARK_COLUMNS

# (frame, score, x, y, w, h): two faces drifting right over three frames, one weak candidate
# in frame 1, and frame 3 analysed with no face at all. Listed out of order on purpose.
ROWS = [
    (1, 0.95, 12.0, 10.0, 40.0, 50.0),
    (0, 0.60, 200.0, 20.0, 60.0, 70.0),
    (2, 0.58, 204.0, 20.0, 60.0, 70.0),
    (1, 0.20, 400.0, 300.0, 10.0, 12.0),
    (0, 0.90, 10.0, 10.0, 40.0, 50.0),
    (2, 0.93, 14.0, 10.0, 40.0, 50.0),
    (1, 0.62, 202.0, 20.0, 60.0, 70.0),
]
FPS = 10.0
FRAMES = pd.DataFrame({"frame": [0, 1, 2, 3], "time": [0.0, 0.1, 0.2, 0.3]})


def landmarks(boxes: np.ndarray) -> np.ndarray:
    """Six plausible points inside each [x, y, w, h] box, as (N, 12) landmark columns."""
    x, y, w, h = (boxes[:, i : i + 1] for i in range(4))
    fx = np.array([0.3, 0.7, 0.5, 0.5, 0.35, 0.65])
    fy = np.array([0.35, 0.35, 0.55, 0.75, 0.75, 0.75])
    return np.stack([x + fx * w, y + fy * h], axis=2).reshape(len(boxes), len(LANDMARK_COLUMNS))


def candidates(rows: list[tuple] = ROWS, *, times: bool = True) -> pd.DataFrame:
    """Candidate rows (unsorted, as given) with time, score, box and landmark columns."""
    table = pd.DataFrame(rows, columns=["frame", "score", *BOX_COLUMNS])
    if times:
        table.insert(1, "time", table["frame"] / FPS)
    points = landmarks(table[BOX_COLUMNS].to_numpy())
    return pd.concat([table, pd.DataFrame(points, columns=LANDMARK_COLUMNS)], axis=1)


def video_meta(**extra) -> dict:
    return {"source": "synthetic.mp4", "media": "video", "width": 640, "height": 360, "fps": FPS, **extra}
