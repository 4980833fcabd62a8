"""The face table: column names and dtypes shared by Result, its DataFrame and its files."""

from __future__ import annotations

import pandas as pd

from .schema import LANDMARKS

BOX_COLUMNS = ["x", "y", "w", "h"]
LANDMARK_COLUMNS = [f"{name}_{axis}" for name in LANDMARKS for axis in ("x", "y")]
CROP_COLUMNS = ["crop_url", "crop_x", "crop_y", "crop_w", "crop_h"]

# One row per face per frame, in this order, with these dtypes (API.md).
FACE_DTYPES: dict[str, str] = {
    "frame": "int64",
    "time": "float64",
    "face": "int64",
    "track_id": "Int64",
    "score": "float64",
    **{c: "float64" for c in BOX_COLUMNS},
    **{c: "float64" for c in LANDMARK_COLUMNS},
}
CROP_DTYPES: dict[str, str] = {"crop_url": "string", **{c: "float64" for c in CROP_COLUMNS[1:]}}
FRAME_DTYPES: dict[str, str] = {"frame": "int64", "time": "float64"}
# A face that left the picture: the last box of its track, listed at the first frame without it.
REMOVED_DTYPES: dict[str, str] = {"frame": "int64", "track_id": "Int64", **{c: "float64" for c in BOX_COLUMNS}}


def typed(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """``frame`` with exactly the ``dtypes`` columns that it has, in that order, cast."""
    present = [c for c in dtypes if c in frame.columns]
    return frame[present].astype({c: dtypes[c] for c in present}).reset_index(drop=True)


def empty(dtypes: dict[str, str]) -> pd.DataFrame:
    """A zero-row frame with the given columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in dtypes.items()})
