"""The face table: column names and dtypes shared by Result, its DataFrame and its files, and
:class:`FaceTable`, the columnar store of every candidate that a Result renders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidInputError
from .schema import LANDMARKS

__all__ = [
    "BOX_COLUMNS",
    "CROP_COLUMNS",
    "CROP_DTYPES",
    "FACE_DTYPES",
    "FLOAT_COLUMNS",
    "FRAMES_ATTR",
    "FRAME_DTYPES",
    "LANDMARK_COLUMNS",
    "REMOVED_DTYPES",
    "TRACK_DTYPES",
    "FaceTable",
    "TableLike",
    "analysed_frames",
    "by_frame",
    "empty",
    "frame_of",
    "group_starts",
    "media_of",
    "numbers",
    "rows_by_frame",
    "track_summary",
    "typed",
    "with_removed",
]

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
    """ "video" when more than one frame was analysed or any frame has a time, else "image":
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
    table = (
        faces.groupby("track_id", sort=True)
        .agg(
            first_frame=("frame", "min"),
            last_frame=("frame", "max"),
            first_time=("time", "min"),
            last_time=("time", "max"),
            n_frames=("frame", "nunique"),
            mean_score=("score", "mean"),
            max_score=("score", "max"),
            mean_w=("w", "mean"),
            mean_h=("h", "mean"),
        )
        .reset_index()
    )
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


# -- the canonical store: every candidate as numpy columns ---------------------------------------

TableLike = pd.DataFrame | Mapping[str, Any]
"""Candidates or frames as a DataFrame or a mapping of column name -> values."""

FLOAT_COLUMNS = ("time", "score", *BOX_COLUMNS, *LANDMARK_COLUMNS)
"""Columns that are NaN where a source does not give them (boxes-only truth, hosted answers)."""


@dataclass(frozen=True, eq=False)
class FaceTable:
    """Every candidate face of a result and the frames that were analysed: the one canonical store.

    ``columns`` hold one value per candidate, sorted by frame and then by descending score;
    ``removed`` holds removed boxes a source gave (hosted answers, files), None when the
    tracker decides them. ``features`` (one row per candidate) and ``signatures`` (one row per
    analysed frame) are the appearance and scene cues the tracker uses, when known. Nothing
    here is ever modified after it is built; selections and renderings derive from it.
    """

    columns: Mapping[str, np.ndarray]
    frame_index: np.ndarray
    frame_time: np.ndarray
    removed: pd.DataFrame | None = None
    features: np.ndarray | None = None
    signatures: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        candidates: TableLike,
        frames: TableLike | None = None,
        *,
        removed: pd.DataFrame | None = None,
        features: np.ndarray | None = None,
        signatures: np.ndarray | None = None,
    ) -> FaceTable:
        """A table from candidate rows in any order; missing columns (time, score, landmarks,
        track ids) become unknown, and the frames default to those that have a candidate."""
        frame = numbers(candidates["frame"], "int64")
        if frames is None:
            frames = _frames_of(candidates, frame)
        frame_index = numbers(frames["frame"], "int64")
        frame_time = numbers(frames["time"], "float64") if "time" in frames else np.full(frame_index.size, np.nan)
        score = numbers(candidates["score"], "float64") if "score" in candidates else np.full(frame.size, np.nan)
        order = None if _is_sorted(frame, score) else np.lexsort((-score, frame))
        columns: dict[str, np.ndarray] = {}
        for name, dtype in {**FACE_DTYPES, **CROP_DTYPES}.items():
            if name == "face":
                continue
            if name in candidates:
                values = _crop_urls(candidates[name]) if name == "crop_url" else numbers(candidates[name], dtype)
            elif name == "time":
                values = _times_of(frame, frame_index, frame_time)
            elif name == "track_id" or name in FLOAT_COLUMNS:
                values = np.full(frame.size, np.nan)
            else:  # crop columns exist only where crops were made
                continue
            columns[name] = values if order is None else values[order]
        if features is not None and order is not None:
            features = np.asarray(features)[order]
        return cls(
            columns,
            frame_index,
            frame_time,
            None if removed is None else by_frame(removed),
            features,
            None if signatures is None else np.asarray(signatures),
        )

    @property
    def has_crops(self) -> bool:
        return "crop_url" in self.columns

    def __len__(self) -> int:
        return int(self.columns["frame"].size)

    def frames(self) -> pd.DataFrame:
        """The analysed frames (frame index, time in seconds) as a typed DataFrame."""
        return typed(pd.DataFrame({"frame": self.frame_index, "time": self.frame_time}), FRAME_DTYPES)

    def to_frame(self) -> pd.DataFrame:
        """Every candidate as a typed DataFrame (``track_id`` only where the source gave one)."""
        return frame_of(self.columns)

    def take_frames(self, frames: Sequence[int]) -> FaceTable:
        """The rows, analysed frames, cues and given removed boxes of ``frames`` only (those analysed)."""
        wanted = np.asarray(sorted({int(f) for f in frames}), np.int64)
        rows = np.isin(self.columns["frame"], wanted)
        kept = np.isin(self.frame_index, wanted)
        return FaceTable(
            {name: values[rows] for name, values in self.columns.items()},
            self.frame_index[kept],
            self.frame_time[kept],
            None if self.removed is None else self.removed[self.removed["frame"].isin(wanted)].reset_index(drop=True),
            None if self.features is None else self.features[rows],
            None if self.signatures is None else self.signatures[kept],
        )

    @classmethod
    def concat(cls, tables: Sequence[FaceTable]) -> FaceTable:
        """One table from tables of distinct frames of the same media (e.g. frames analysed in
        several passes), rows and frames in frame order. Removed boxes given by a source, and
        cues some tables lack, are dropped: the tracker decides them again."""
        if not tables:
            raise InvalidInputError("concat needs at least one table")
        index = np.concatenate([t.frame_index for t in tables])
        if np.unique(index).size != index.size:
            raise InvalidInputError("concat needs tables of distinct frames; a frame appears twice")
        names = set.intersection(*(set(t.columns) for t in tables))
        columns = {
            name: np.concatenate([t.columns[name] for t in tables]) for name in tables[0].columns if name in names
        }
        frame_order = np.argsort(index, kind="stable")

        def stacked(parts: list[np.ndarray | None]) -> np.ndarray | None:
            return None if any(p is None for p in parts) else np.concatenate(parts)  # type: ignore[arg-type]

        return cls.build(
            columns,
            {"frame": index[frame_order], "time": np.concatenate([t.frame_time for t in tables])[frame_order]},
            features=stacked([t.features for t in tables]),
            signatures=None if (s := stacked([t.signatures for t in tables])) is None else s[frame_order],
        )


def numbers(values: Any, dtype: str) -> np.ndarray:
    """A numeric column (numpy array, list or pandas Series, NA allowed for floats) as numpy."""
    if isinstance(values, pd.Series):
        return values.to_numpy(np.int64) if dtype == "int64" else values.to_numpy(np.float64, na_value=np.nan)
    return np.asarray(values, dtype=np.int64 if dtype == "int64" else np.float64)


def _crop_urls(values: Any) -> np.ndarray:
    return np.array([None if pd.isna(url) else str(url) for url in values], dtype=object)


def _frames_of(candidates: TableLike, frame: np.ndarray) -> dict[str, np.ndarray]:
    """The analysed frames implied by candidate rows: each distinct frame, with its time if given."""
    index, first = np.unique(frame, return_index=True)
    time = numbers(candidates["time"], "float64")[first] if "time" in candidates else np.full(index.size, np.nan)
    return {"frame": index, "time": time}


def _times_of(frame: np.ndarray, frame_index: np.ndarray, frame_time: np.ndarray) -> np.ndarray:
    """Each row's time, looked up from the analysed frames (NaN where its frame is not listed)."""
    order = np.argsort(frame_index, kind="stable")
    at = np.clip(np.searchsorted(frame_index[order], frame), 0, max(frame_index.size - 1, 0))
    if not frame_index.size:
        return np.full(frame.size, np.nan)
    found = frame_index[order][at] == frame
    return np.where(found, frame_time[order][at], np.nan)


def _is_sorted(frame: np.ndarray, score: np.ndarray) -> bool:
    """Whether rows run by ascending frame and, within a frame, descending score (NaN last)."""
    if frame.size < 2:
        return True
    same = frame[1:] == frame[:-1]
    key = np.where(np.isnan(score), -np.inf, score)
    return bool(np.all(frame[1:] >= frame[:-1]) and np.all(~same | (key[1:] <= key[:-1])))


def by_frame(removed: pd.DataFrame) -> pd.DataFrame:
    """A removed-box table, typed and sorted by frame (renderings slice it per frame)."""
    return typed(removed.sort_values("frame", kind="stable"), REMOVED_DTYPES)


def frame_of(columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """A typed DataFrame (this module's columns and dtypes) of copies of numpy columns.

    Each column is copied once and not consolidated: the user owns the frame, the Result keeps
    its arrays, and a million rows take a tenth of a second rather than half a second.
    """
    dtypes = {**FACE_DTYPES, **CROP_DTYPES}
    data = {name: _pandas_column(columns[name], dtypes[name]) for name in dtypes if name in columns}
    return pd.DataFrame(data, copy=False)


def _pandas_column(values: np.ndarray, dtype: str) -> Any:
    """A fresh pandas-ready column of ``dtype`` from a numpy column (NaN is NA for Int64)."""
    if dtype == "Int64":
        missing = np.isnan(values)
        return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing)
    if dtype == "string":
        return pd.array(values, dtype="string")
    return values.astype(dtype, copy=True)


def group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Boolean mask of the first element of each run of equal keys."""
    return np.r_[True, sorted_keys[1:] != sorted_keys[:-1]] if sorted_keys.size else np.zeros(0, bool)


def rows_by_frame(frames: np.ndarray) -> dict[int, slice]:
    """Frame index -> slice of its rows, for rows sorted by frame."""
    starts = np.flatnonzero(group_starts(frames))
    ends = np.r_[starts[1:], frames.size]
    return {int(frames[a]): slice(int(a), int(b)) for a, b in zip(starts, ends)}
