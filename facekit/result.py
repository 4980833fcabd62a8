"""Result: one canonical table of every candidate face, and its renderings.

A Result keeps every candidate the detector returned down to its floor threshold. The faces a
user sees (``faces_obj``, ``to_akool()``, ``to_frame()``, plots) are the candidates at or above
``confidence`` (the largest per frame with ``single_face``), numbered and tracked. ``filter``
changes the threshold by masking this table and re-running the cheap tracker, never the model.
"""

from __future__ import annotations

import copy
import gc
import json
import math
import os
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator, Mapping, Union

import numpy as np
import pandas as pd

from .errors import InvalidInputError
from .table import (
    BOX_COLUMNS,
    CROP_COLUMNS,
    CROP_DTYPES,
    FACE_DTYPES,
    FRAME_DTYPES,
    FRAMES_ATTR,
    LANDMARK_COLUMNS,
    REMOVED_DTYPES,
    empty,
    track_summary,
    typed,
    with_removed,
)
from .schema import LANDMARKS, OPTIONAL_FRAME_KEYS, landmarks_strs
from .tracking import assign_tracks

FORMAT_VERSION = 1

# Candidates and frames come as DataFrames or as mappings of column name -> array.
CandidateTable = Union[pd.DataFrame, Mapping[str, Any]]


class Result:
    """Faces found in one image or video: Akool ``faces_obj``, DataFrames, plots and files.

    Build one with :func:`facekit.detect`, :meth:`from_akool` or :func:`facekit.load`. A Result
    takes ownership of the candidate arrays it is given (already-sorted columns are not copied).
    """

    def __init__(
        self,
        candidates: CandidateTable,
        frames: CandidateTable,
        meta: dict[str, Any],
        *,
        confidence: float,
        single_face: bool = False,
        floor: float = 0.0,
        removed: pd.DataFrame | None = None,
        picture: np.ndarray | None = None,
    ) -> None:
        _check_confidence(confidence, floor)
        self._columns = _sorted_columns(candidates)
        self._frame_index = np.asarray(frames["frame"], dtype=np.int64)
        self._frame_time = np.asarray(frames["time"], dtype=np.float64)
        self._given_removed = None if removed is None else _by_frame(removed)
        self.confidence = float(confidence)
        self.single_face = bool(single_face)
        self.floor = float(floor)
        self.meta = dict(meta)
        self.meta.update(confidence=self.confidence, single_face=self.single_face, floor=self.floor)
        self._picture = picture

    # -- the selection every rendering shares, computed once, in numpy ---------------------------

    @cached_property
    def _frames(self) -> pd.DataFrame:
        """The analysed frames (frame index, time in seconds) as a typed DataFrame."""
        return typed(pd.DataFrame({"frame": self._frame_index, "time": self._frame_time}), FRAME_DTYPES)

    @cached_property
    def _kept(self) -> dict[str, np.ndarray]:
        """Columns of the faces at or above ``confidence`` (largest per frame with ``single_face``),
        with ``face``, the position within the frame, and ``track_id``."""
        columns = self._columns
        score = columns["score"]
        rows = np.flatnonzero((score >= self.confidence) | np.isnan(score))
        if self.single_face and rows.size:
            frame = columns["frame"][rows]
            order = np.lexsort((-(columns["w"][rows] * columns["h"][rows]), frame))  # stable: ties keep score order
            rows = np.sort(rows[order[_group_starts(frame[order])]])
        every = rows.size == score.size  # nothing dropped: share the columns, which are never modified
        kept = {name: values if every else values[rows] for name, values in columns.items()}
        position = np.arange(rows.size)
        kept["face"] = position - np.maximum.accumulate(np.where(_group_starts(kept["frame"]), position, 0))
        kept["track_id"], self._tracked_removed = self._track(kept)
        return kept

    def _track(self, kept: dict[str, np.ndarray]) -> tuple[np.ndarray, pd.DataFrame]:
        given = kept["track_id"]
        if given.size and not np.isnan(given).any():  # ids a hosted answer gave are kept as given
            return given, _NO_REMOVED
        if self._frame_index.size <= 1:  # one picture: each face is a track of its own
            return kept["face"].astype(np.float64), _NO_REMOVED
        faces = pd.DataFrame({name: kept[name] for name in ("frame", "time", "score", *BOX_COLUMNS, "face")})
        track_ids, removed = assign_tracks(faces, self._frames)
        return np.asarray(track_ids, dtype=np.float64), _by_frame(removed)

    @property
    def _removed(self) -> pd.DataFrame:
        if self._given_removed is not None:
            return self._given_removed
        self._kept  # noqa: B018 - tracking sets _tracked_removed
        return self._tracked_removed

    @property
    def has_crops(self) -> bool:
        return "crop_url" in self._columns

    @property
    def is_video(self) -> bool:
        return self.meta.get("media") == "video"

    @property
    def frames(self) -> list[int]:
        """Indices of the analysed frames, in order."""
        return self._frame_index.tolist()

    def __len__(self) -> int:
        """Number of faces kept, over all frames."""
        return int(self._kept["frame"].size)

    def __repr__(self) -> str:
        return (
            f"<facekit.Result {self.meta.get('media', '?')} {self.meta.get('source', '')!r}: "
            f"{len(self)} faces in {self._frame_index.size} frame(s) at confidence {self.confidence}>"
        )

    # -- renderings ----------------------------------------------------------------------------

    def to_frame(self, *, removed: bool = False) -> pd.DataFrame:
        """One row per kept face per frame, with the columns and dtypes of ``facekit.table``.

        With ``removed``, the boxes of faces that left the picture are added as rows flagged in a
        ``removed`` column (``face`` is then nullable, NA on those rows). The analysed frames,
        including frames without faces, ride along in ``attrs`` for ``df.faces.to_faces_obj()``.
        """
        faces = _frame_of(self._kept)
        if removed:
            faces = with_removed(faces, self._removed, self._frames)
        faces.attrs[FRAMES_ATTR] = {"frame": self._frame_index.tolist(), "time": self._frame_time.tolist()}
        return faces

    def candidates(self) -> pd.DataFrame:
        """Every candidate down to the floor threshold, kept or not; ``track_id`` only where the source gave one."""
        return _frame_of(self._columns)

    def removed(self) -> pd.DataFrame:
        """Per frame, the last boxes of tracks present in the previous analysed frame and gone in this one."""
        return self._removed.copy()

    def tracks(self) -> pd.DataFrame:
        """One row per track: first/last frame and time, frames seen, gaps, score and size statistics."""
        return track_summary(self.to_frame(), self._frames)

    @property
    def faces_obj(self) -> dict[str, dict[str, Any]]:
        """Akool's ``faces_obj`` at full precision, plus ``scores`` and ``track_ids`` beside ``region``
        and ``removed_track_ids`` beside ``removed``."""
        return self._render(integers=False, extensions=True)

    def to_akool(self) -> dict[str, Any]:
        """Exactly Akool's FaceDetectionResponse: integer pixels, no extension keys.

        Refused for faces without a box (crop-only answers of Magic Hour and CRUN): Akool's
        schema requires one, and none is made up.
        """
        missing = int(np.isnan(self._kept["x"]).sum())
        if missing:
            raise InvalidInputError(
                f"{missing} face(s) have no box (a crop-only answer from {self.meta.get('service', 'a service')}); "
                "Akool's response needs a box for every face"
            )
        return {"error_code": 0, "error_msg": "SUCCESS", "faces_obj": self._render(integers=True, extensions=False)}

    def _render(self, *, integers: bool, extensions: bool) -> dict[str, dict[str, Any]]:
        with _gc_paused():
            return self._render_frames(integers=integers, extensions=extensions)

    def _render_frames(self, *, integers: bool, extensions: bool) -> dict[str, dict[str, Any]]:
        kept, removed = self._kept, self._removed
        number = _integers if integers else _floats
        boxes = _known_rows(np.column_stack([kept[c] for c in BOX_COLUMNS]), number)
        points = np.column_stack([kept[c] for c in LANDMARK_COLUMNS]).reshape(-1, len(LANDMARKS), 2)
        landmarks = _known_rows(points, number)
        strings = landmarks_strs(points)
        scores = [None if math.isnan(s) else s for s in kept["score"].tolist()]
        track_ids = [None if math.isnan(t) else int(t) for t in kept["track_id"].tolist()]
        crops = self._render_crops(kept, points, number) if self.has_crops else None
        removed_boxes = number(removed[BOX_COLUMNS].to_numpy(np.float64))
        removed_ids = [None if pd.isna(t) else int(t) for t in removed["track_id"].tolist()]
        rows_by_frame = _rows_by_frame(kept["frame"])
        removed_by_frame = _rows_by_frame(removed["frame"].to_numpy(np.int64))
        out: dict[str, dict[str, Any]] = {}
        for frame, time in zip(self._frame_index.tolist(), self._frame_time.tolist()):
            rows = rows_by_frame.get(frame, _NO_ROWS)
            entry: dict[str, Any] = {
                "landmarks": landmarks[rows],
                "landmarks_str": strings[rows],
                "region": boxes[rows],
                "removed": removed_boxes[removed_by_frame.get(frame, _NO_ROWS)],
                "frame_time": None if math.isnan(time) else time,
            }
            for key in OPTIONAL_FRAME_KEYS:
                entry[key] = None if crops is None else crops[key][rows]
            if extensions:
                entry["scores"] = scores[rows]
                entry["track_ids"] = track_ids[rows]
                entry["removed_track_ids"] = removed_ids[removed_by_frame.get(frame, _NO_ROWS)]
            out[str(frame)] = entry
        return out

    @staticmethod
    def _render_crops(kept: dict[str, np.ndarray], points: np.ndarray, number) -> dict[str, list]:
        urls = [None if u is None or (isinstance(u, float) and math.isnan(u)) else str(u) for u in kept["crop_url"]]
        regions = np.column_stack([kept[c] for c in CROP_COLUMNS[1:]])
        relative = points - regions[:, None, :2]
        has = [u is not None for u in urls]
        return {
            "face_urls": urls,
            "crop_region": [region if ok else None for region, ok in zip(_known_rows(regions, number), has)],
            "crop_landmarks": [text if ok else None for text, ok in zip(landmarks_strs(relative), has)],
        }

    # -- derived results -----------------------------------------------------------------------

    def filter(self, confidence: float | None = None, *, single_face: bool | None = None) -> "Result":
        """The same detections at another threshold (or single-face mode), without running the model."""
        confidence = self.confidence if confidence is None else float(confidence)
        _check_confidence(confidence, self.floor)
        other = copy.copy(self)  # shares the candidate columns, which are never modified
        for derived in ("_kept", "_tracked_removed"):
            other.__dict__.pop(derived, None)
        other.confidence = confidence
        other.single_face = self.single_face if single_face is None else bool(single_face)
        other.meta = {**self.meta, "confidence": other.confidence, "single_face": other.single_face}
        return other

    # -- plots ---------------------------------------------------------------------------------

    def plot(self, frame: int | None = None, ax=None, **style):
        """Draw the picture (or a video frame) with boxes, the six landmarks, track/score labels and
        the removed boxes of that frame; frames after the first are drawn on a blank canvas."""
        from .plot import overlay

        frame = self.frames[0] if frame is None else frame
        if frame not in self.frames:
            raise InvalidInputError(f"frame {frame} was not analysed; analysed frames: {self.frames[:10]}...")
        table = self.to_frame(removed=True)
        size = (self.meta.get("width"), self.meta.get("height"))
        here = table["frame"] == frame
        return overlay(
            self._picture if frame == self.frames[0] else None,
            table[here & ~table["removed"]],
            removed=table[here & table["removed"]],
            ax=ax,
            size=size,
            **style,
        )

    def plot_tracks(self):
        """Box centre x and y against time, one line per track (a Figure of two axes)."""
        return self.to_frame(removed=True).faces.plot_tracks()

    def plot_timeline(self, *, ax=None):
        """One lane per track over the analysed frames, gaps visible, removed events marked."""
        return self.to_frame(removed=True).faces.plot_timeline(ax=ax)

    def plot_counts(self, *, ax=None):
        """Faces per analysed frame against time."""
        return self.to_frame(removed=True).faces.plot_counts(ax=ax)

    def plot_scores(self, *, ax=None, bins: int = 20):
        """Histogram of every candidate's score with the current threshold marked."""
        from .plot import score_histogram

        return score_histogram(self._columns["score"], self.confidence, ax=ax, bins=bins)

    def plot_kept(self, *, ax=None):
        """Faces kept against threshold, from the cached candidates, with the current threshold marked."""
        from .plot import faces_kept

        return faces_kept(self._columns["score"], self.confidence, ax=ax)

    def contact_sheet(self, source=None, *, columns: int | None = None, size: float = 3.0, **style):
        """A grid of overlays, one panel per analysed frame, decoded again from ``source``
        (default: the file this result was detected from)."""
        from .media import frame_pixels, open_media
        from .plot import contact_sheet

        if source is None:
            source = self.meta.get("source")
            if not isinstance(source, str) or not Path(source).is_file():
                raise InvalidInputError("contact_sheet needs the picture or video: pass it as source=")
        media = open_media(source)
        table = self.to_frame(removed=True)
        pictures = {frame: frame_pixels(media, frame) for frame in self.frames}
        faces = table[~table["removed"]]
        return contact_sheet(pictures, faces, removed=table[table["removed"]], columns=columns, size=size, **style)

    # -- files ---------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {
            "format": "facekit.Result",
            "version": FORMAT_VERSION,
            "meta": self.meta,
            "confidence": self.confidence,
            "single_face": self.single_face,
            "floor": self.floor,
            "frames": _records(self._frames),
            "removed": None if self._given_removed is None else _records(self._given_removed),
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole result (every candidate, frames, meta) as ``.json`` or ``.parquet``."""
        path = Path(path)
        suffix = path.suffix.lower()
        candidates = self.candidates()
        if suffix == ".json":
            state = self._state() | {"candidates": {name: _json_list(values) for name, values in self._columns.items()}}
            path.write_text(json.dumps(state, default=_json_default), encoding="utf-8")
        elif suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(candidates, preserve_index=False)
            metadata = dict(table.schema.metadata or {})
            metadata[b"facekit"] = json.dumps(self._state(), default=_json_default).encode()
            pq.write_table(table.replace_schema_metadata(metadata), path)
        else:
            raise InvalidInputError(f"cannot save to {path.name}: use a .json or .parquet suffix")
        return path

    @classmethod
    def _from_state(cls, state: dict[str, Any], candidates: pd.DataFrame) -> "Result":
        if state.get("format") != "facekit.Result":
            raise InvalidInputError("not a facekit Result file")
        removed = state.get("removed")
        return cls(
            candidates,
            pd.DataFrame(state["frames"], columns=list(FRAME_DTYPES)),
            state["meta"],
            confidence=state["confidence"],
            single_face=state["single_face"],
            floor=state["floor"],
            removed=None if removed is None else pd.DataFrame(removed, columns=list(REMOVED_DTYPES)),
        )

    @classmethod
    def from_akool(cls, obj: dict[str, Any] | str) -> "Result":
        """A Result from any Akool answer (``{error_code, error_msg, faces_obj}``) or a bare ``faces_obj``."""
        from .akool import parse_akool  # the parser is long enough to live on its own

        return parse_akool(cls, obj)


def load(path: str | os.PathLike[str]) -> Result:
    """Read a Result written by :meth:`Result.save` (``.json`` or ``.parquet``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}")
    if suffix == ".json":
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:  # not JSON, or not UTF-8
            raise InvalidInputError(f"{path.name} is not a facekit Result file: {exc}") from exc
        if not isinstance(state, dict) or state.get("format") != "facekit.Result" or "candidates" not in state:
            raise InvalidInputError(f"{path.name} is not a facekit Result file")
        candidates = pd.DataFrame(state["candidates"])
        return Result._from_state(state, candidates)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise InvalidInputError(f"{path.name} is not a Parquet file: {exc}") from exc
        raw = (table.schema.metadata or {}).get(b"facekit")
        if raw is None:
            raise InvalidInputError(f"{path.name} has no facekit metadata")
        return Result._from_state(json.loads(raw), table.to_pandas())
    raise InvalidInputError(f"cannot load {path.name}: use a .json or .parquet file")


_NO_REMOVED = empty(REMOVED_DTYPES)


def _check_confidence(confidence: float, floor: float) -> None:
    if not 0.0 <= confidence <= 1.0:
        raise InvalidInputError(f"confidence must be between 0 and 1, got {confidence}")
    if confidence < floor:
        raise InvalidInputError(
            f"confidence {confidence} is below the floor {floor} this result was detected at; "
            f"run detect() again with confidence={confidence}"
        )
_NO_ROWS = slice(0, 0)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small lists are built.

    None of them can form a cycle, but their number alone makes the collector run again and
    again over everything alive: rendering a million faces took 2.6x as long with it on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sorted_columns(candidates: CandidateTable) -> dict[str, np.ndarray]:
    """The candidate table as numpy columns, sorted by frame and then by descending score.

    Columns already in that order (every table facekit itself makes) are used as they are.
    """
    frame = _numbers(candidates["frame"], "int64")
    score = _numbers(candidates["score"], "float64")
    order = None if _is_sorted(frame, score) else np.lexsort((-score, frame))
    columns: dict[str, np.ndarray] = {}
    for name, dtype in {**FACE_DTYPES, **CROP_DTYPES}.items():
        if name == "face":
            continue
        if name not in candidates:
            if name == "track_id":  # the tracker numbers faces; hosted answers may give ids
                columns[name] = np.full(frame.size, np.nan)
            continue
        if name == "crop_url":
            values = np.array([None if pd.isna(url) else str(url) for url in candidates[name]], dtype=object)
        else:
            values = _numbers(candidates[name], dtype)
        columns[name] = values if order is None else values[order]
    return columns


def _is_sorted(frame: np.ndarray, score: np.ndarray) -> bool:
    """Whether rows run by ascending frame and, within a frame, descending score (NaN last)."""
    if frame.size < 2:
        return True
    same = frame[1:] == frame[:-1]
    key = np.where(np.isnan(score), -np.inf, score)
    return bool(np.all(frame[1:] >= frame[:-1]) and np.all(~same | (key[1:] <= key[:-1])))


def _by_frame(removed: pd.DataFrame) -> pd.DataFrame:
    """A removed-box table, typed and sorted by frame (renderings slice it per frame)."""
    return typed(removed.sort_values("frame", kind="stable"), REMOVED_DTYPES)


def _numbers(values: Any, dtype: str) -> np.ndarray:
    """A numeric column (numpy array, list or pandas Series, NA allowed for floats) as numpy."""
    if isinstance(values, pd.Series):
        return values.to_numpy(np.int64) if dtype == "int64" else values.to_numpy(np.float64, na_value=np.nan)
    return np.asarray(values, dtype=np.int64 if dtype == "int64" else np.float64)


def _frame_of(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A typed DataFrame (``facekit.table`` columns and dtypes) of copies of numpy columns.

    Each column is copied once and not consolidated: the user owns the frame, the Result keeps
    its arrays, and a million rows take a tenth of a second rather than half a second.
    """
    dtypes = {**FACE_DTYPES, **CROP_DTYPES}
    data = {name: _pandas_column(columns[name], dtypes[name]) for name in dtypes if name in columns}
    return pd.DataFrame(data, copy=False)


def _pandas_column(values: np.ndarray, dtype: str):
    """A fresh pandas-ready column of ``dtype`` from a numpy column (NaN is NA for Int64)."""
    if dtype == "Int64":
        missing = np.isnan(values)
        return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing)
    if dtype == "string":
        return pd.array(values, dtype="string")
    return values.astype(dtype, copy=True)


def _group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Boolean mask of the first element of each run of equal keys."""
    return np.r_[True, sorted_keys[1:] != sorted_keys[:-1]] if sorted_keys.size else np.zeros(0, bool)


def _rows_by_frame(frames: np.ndarray) -> dict[int, slice]:
    """Frame index -> slice of its rows, for rows sorted by frame."""
    starts = np.flatnonzero(_group_starts(frames))
    ends = np.r_[starts[1:], frames.size]
    return {int(frames[a]): slice(int(a), int(b)) for a, b in zip(starts, ends)}


def _known_rows(values: np.ndarray, number) -> list:
    """Rows of an (N, ...) array as nested lists via ``number``, None for a row with an unknown (NaN) value."""
    unknown = np.isnan(values).reshape(len(values), -1).any(axis=1) if values.size else np.zeros(len(values), bool)
    if not unknown.any():
        return number(values)
    mask = unknown.reshape((-1,) + (1,) * (values.ndim - 1))
    rows = number(np.where(mask, 0.0, values))
    return [None if gone else row for row, gone in zip(rows, unknown.tolist())]


def _integers(values: np.ndarray) -> list:
    return np.rint(values).astype(np.int64).tolist()


def _floats(values: np.ndarray) -> list:
    return values.astype(np.float64).tolist()


def _json_list(values: np.ndarray) -> list:
    """A column as a JSON-safe list at full precision (NaN becomes null)."""
    if values.dtype == object:
        return [None if pd.isna(v) else v for v in values.tolist()]  # None, NaN and pd.NA
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values.tolist()]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts at full precision (NaN and NA become null; ``to_json`` keeps 10 digits)."""
    values = {name: _json_list(frame[name].to_numpy(object)) for name in frame.columns}
    return [dict(zip(values, row)) for row in zip(*values.values())]


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
