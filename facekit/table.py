"""The face table: column names and dtypes shared by Result, its DataFrame and its files."""

from __future__ import annotations

import numpy as np
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

TRACK_DTYPES: dict[str, str] = {
    "track_id": "Int64",
    "first_frame": "int64",
    "last_frame": "int64",
    "first_time": "float64",
    "last_time": "float64",
    "n_frames": "int64",
    "gaps": "int64",
    "mean_score": "float64",
    "max_score": "float64",
    "mean_w": "float64",
    "mean_h": "float64",
}
"""One row per track (``Result.tracks()``, ``df.faces.tracks()``); ``gaps`` counts the analysed
frames between its first and last frame where the track was not seen."""

FRAMES_ATTR = "facekit_frames"
"""Key in ``DataFrame.attrs`` of the analysed frames (``frame``, ``time`` lists), so that frames
without faces survive a trip through a DataFrame."""


def media_of(times: np.ndarray) -> str:
    """"video" when more than one frame was analysed or any frame has a time, else "image":
    what a table of analysed frame times says about its source."""
    times = np.asarray(times, dtype=np.float64)
    return "video" if times.size > 1 or not np.isnan(times).all() else "image"


def analysed_frames(faces: pd.DataFrame) -> pd.DataFrame:
    """The analysed frames of a face table: from its attrs when a Result made it, else its rows."""
    given = faces.attrs.get(FRAMES_ATTR)
    if given is not None:
        return typed(pd.DataFrame(given), FRAME_DTYPES)
    return typed(faces[["frame", "time"]].drop_duplicates("frame").sort_values("frame"), FRAME_DTYPES)


def track_summary(faces: pd.DataFrame, frames: pd.DataFrame) -> pd.DataFrame:
    """One row per track of a face table (removed rows ignored), with the columns of TRACK_DTYPES."""
    if "removed" in faces:
        faces = faces[~faces["removed"]]
    faces = faces[faces["track_id"].notna()]
    if faces.empty:
        return empty(TRACK_DTYPES)
    table = faces.groupby("track_id", sort=True).agg(
        first_frame=("frame", "min"), last_frame=("frame", "max"), first_time=("time", "min"),
        last_time=("time", "max"), n_frames=("frame", "nunique"), mean_score=("score", "mean"),
        max_score=("score", "max"), mean_w=("w", "mean"), mean_h=("h", "mean"),
    ).reset_index()
    analysed = np.sort(frames["frame"].to_numpy(np.int64))
    spanned = np.searchsorted(analysed, table["last_frame"], "right") - np.searchsorted(analysed, table["first_frame"])
    table["gaps"] = spanned - table["n_frames"].to_numpy()
    return typed(table, TRACK_DTYPES)


def with_removed(faces: pd.DataFrame, removed: pd.DataFrame, frames: pd.DataFrame) -> pd.DataFrame:
    """``faces`` plus the ``removed`` boxes as rows flagged ``removed=True`` (no face position,
    score or landmarks; the time of their frame), each frame's removed rows after its faces."""
    times = dict(zip(frames["frame"].tolist(), frames["time"].tolist()))
    extra = removed.assign(time=removed["frame"].map(times).astype("float64"), removed=True)
    table = pd.concat([faces.assign(removed=False), extra], ignore_index=True)
    table["face"] = table["face"].astype("Int64")
    table = table.sort_values(["frame", "removed"], kind="stable", ignore_index=True)
    return table.astype({"removed": "bool"})
