"""The Akool codec, both directions: an Akool answer to a face table, and a selection of faces
to Akool's ``faces_obj`` and ``FaceDetectionResponse``.

Both directions are columnar: a parse chains each field's per-frame lists into one flat numpy
array and a rendering slices numpy columns per frame, so a million faces convert in about a
second (``bench/bench_frame.py``); Python only loops over frames, never over faces.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidInputError
from .schema import LANDMARKS, OPTIONAL_FRAME_KEYS, landmarks_strs, six_landmarks
from .selection import Selection
from .table import BOX_COLUMNS, CROP_COLUMNS, LANDMARK_COLUMNS, REMOVED_DTYPES, FaceTable, media_of, rows_by_frame

__all__ = ["AkoolAnswer", "faces_obj", "parse", "response"]

_NAN_POINTS = [[math.nan, math.nan]] * len(LANDMARKS)


@dataclass(frozen=True)
class AkoolAnswer:
    """What an Akool answer holds: its faces as a table (removed boxes as given) and run metadata."""

    table: FaceTable
    meta: dict[str, Any]


def parse(obj: dict[str, Any] | str) -> AkoolAnswer:
    """Faces, removed boxes, times and optional scores/track ids/crops of an Akool answer.

    Hosted answers carry no scores: those faces get NaN scores and are always kept. Anything
    malformed (not JSON, a value of the wrong type or length) is an :class:`InvalidInputError`.
    """
    try:
        return _parse(obj)
    except InvalidInputError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise InvalidInputError(f"not a valid Akool answer: {exc}") from exc


def _faces_obj(obj: dict[str, Any] | str) -> dict[str, Any]:
    """The ``faces_obj`` of a response (refused if it is an error answer), or ``obj`` itself."""
    if isinstance(obj, str):
        obj = json.loads(obj)
    if not isinstance(obj, dict):
        raise InvalidInputError("an Akool answer must be a JSON object")
    if "faces_obj" in obj:
        if obj.get("error_code", 0) != 0:
            raise InvalidInputError(f"the Akool answer is an error: {obj.get('error_msg')!r}")
        obj = obj["faces_obj"]
    if not isinstance(obj, dict):
        raise InvalidInputError("faces_obj must be an object keyed by frame index")
    return obj


def _parse(obj: dict[str, Any] | str) -> AkoolAnswer:
    faces_obj = _faces_obj(obj)
    try:
        keyed = sorted((int(key), entry) for key, entry in faces_obj.items())
    except ValueError as exc:
        raise InvalidInputError("faces_obj keys must be frame indices") from exc
    except TypeError as exc:  # two equal keys ("1" and "01") compare their entries
        raise InvalidInputError("faces_obj has the same frame index twice") from exc
    frames = np.array([key for key, _ in keyed], dtype=np.int64)
    if np.unique(frames).size != frames.size:  # "1" and "01" with equal entries sort without a TypeError
        raise InvalidInputError("faces_obj has the same frame index twice")
    entries = [entry for _, entry in keyed]
    if not all(isinstance(entry, dict) for entry in entries):
        raise InvalidInputError("each frame of faces_obj must be an object")
    times = np.array([math.nan if e.get("frame_time") is None else float(e["frame_time"]) for e in entries])
    regions = [e.get("region") or [] for e in entries]
    counts = np.fromiter(map(len, regions), np.int64, len(entries))

    columns: dict[str, Any] = {
        "frame": np.repeat(frames, counts),
        "time": np.repeat(times, counts),
        "score": _per_face(entries, "scores", counts, frames),
        "track_id": _per_face(entries, "track_ids", counts, frames, complete=True),
    }
    columns.update(zip(BOX_COLUMNS, _rows(regions, frames, 4, "region").T))
    columns.update(zip(LANDMARK_COLUMNS, _landmarks(entries, counts, frames).T))
    if any(e.get("face_urls") is not None for e in entries):
        columns.update(_crops(entries, counts, frames))

    removed_lists = [e.get("removed") or [] for e in entries]
    removed_counts = np.fromiter(map(len, removed_lists), np.int64, len(entries))
    removed = pd.DataFrame(dict(zip(BOX_COLUMNS, _rows(removed_lists, frames, 4, "removed").T)))
    removed.insert(0, "frame", np.repeat(frames, removed_counts))
    removed_ids = _per_face(entries, "removed_track_ids", removed_counts, frames, complete=True)
    removed.insert(1, "track_id", pd.Series(removed_ids, dtype="Float64").astype("Int64"))

    table = FaceTable.build(columns, {"frame": frames, "time": times}, removed=removed[list(REMOVED_DTYPES)])
    return AkoolAnswer(table, {"source": "akool answer", "media": media_of(times), "model": "unknown"})


def _rows(lists: list[list], frames: np.ndarray, width: int, what: str) -> np.ndarray:
    """Per-frame lists of ``width``-number rows (boxes) as one (N, width) float array."""
    rows = [[math.nan] * width if row is None else row for row in chain.from_iterable(lists)]  # null: unknown
    if rows and set(map(len, rows)) != {width}:
        frame = next(
            f for f, items in zip(frames, lists) if any(len(item) != width for item in items if item is not None)
        )
        raise InvalidInputError(f"frame {frame}: each {what} entry must be {width} numbers")
    values = np.fromiter(chain.from_iterable(rows), np.float64, count=len(rows) * width)
    return values.reshape(len(rows), width)


def _landmarks(entries: list[dict], counts: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(N, 12) landmark columns; frames without landmarks get NaN, 5-point answers get the mouth centre."""
    per_frame = [e.get("landmarks") or [_NAN_POINTS] * n for e, n in zip(entries, counts.tolist())]
    _check_lengths(per_frame, counts, frames, "landmarks")
    faces = [_NAN_POINTS if face is None else face for face in chain.from_iterable(per_frame)]  # null: unknown
    if not faces:
        return np.zeros((0, len(LANDMARK_COLUMNS)))
    if set(map(len, faces)) == {len(LANDMARKS)}:
        values = np.fromiter(chain.from_iterable(chain.from_iterable(faces)), np.float64)
        if values.size != len(faces) * len(LANDMARK_COLUMNS):
            raise InvalidInputError("each landmark must be a point [x, y]")
        return values.reshape(len(faces), -1)
    return np.stack([_points(points) for points in faces]).reshape(len(faces), -1)


def _points(points: Any) -> np.ndarray:
    """One face's landmarks as (6, 2): six points as given, or five with the mouth centre derived."""
    array = np.asarray(points, dtype=np.float64)
    if array.shape == (5, 2):
        return six_landmarks(array[None])[0]
    if array.shape != (len(LANDMARKS), 2):
        raise InvalidInputError(f"landmarks must be 6 (or 5) points [x, y], got shape {array.shape}")
    return array


def _per_face(
    entries: list[dict], key: str, counts: np.ndarray, frames: np.ndarray, *, complete: bool = False
) -> np.ndarray:
    """An optional per-face number list (``scores``, ``track_ids``) as floats, NaN where absent.

    With ``complete``, a key missing from any frame is dropped everywhere: partial track ids
    would mix two numberings.
    """
    present = [e.get(key) is not None for e in entries]
    out = np.full(int(counts.sum()), np.nan)
    if not any(present) or (complete and not all(present)):
        return out
    lists = [e[key] if has else [None] * n for e, n, has in zip(entries, counts.tolist(), present)]
    _check_lengths(lists, counts, frames, key)
    values = list(chain.from_iterable(lists))
    try:
        return np.array(values, dtype=np.float64)  # the common case: numbers only, no nulls
    except (TypeError, ValueError):
        return pd.to_numeric(pd.Series(values, dtype=object), errors="raise").to_numpy(np.float64, na_value=np.nan)


def _crops(entries: list[dict], counts: np.ndarray, frames: np.ndarray) -> dict[str, Any]:
    """Crop URL and crop box columns; faces without a crop get None and NaN."""
    urls = [e.get("face_urls") or [None] * n for e, n in zip(entries, counts.tolist())]
    boxes = [e.get("crop_region") or [None] * n for e, n in zip(entries, counts.tolist())]
    _check_lengths(urls, counts, frames, "face_urls")
    _check_lengths(boxes, counts, frames, "crop_region")
    boxes = [[[math.nan] * 4 if box is None else box for box in frame_boxes] for frame_boxes in boxes]
    columns: dict[str, Any] = {"crop_url": np.array(list(chain.from_iterable(urls)), dtype=object)}
    columns.update(zip(CROP_COLUMNS[1:], _rows(boxes, frames, 4, "crop_region").T))
    return columns


def _check_lengths(lists: list[list], counts: np.ndarray, frames: np.ndarray, what: str) -> None:
    """Refuse a per-face list whose length differs from the frame's number of regions."""
    lengths = np.fromiter(map(len, lists), np.int64, len(lists))
    wrong = np.flatnonzero(lengths != counts)
    if wrong.size:
        raise InvalidInputError(f"frame {frames[wrong[0]]}: {what} and region differ in length")


# -- rendering: a selection of faces to Akool's shapes -------------------------------------------


def response(selection: Selection, table: FaceTable, service: str | None = None) -> dict[str, Any]:
    """Exactly Akool's FaceDetectionResponse: integer pixels, no extension keys.

    Refused for faces without a box (crop-only answers of Magic Hour and CRUN): Akool's schema
    requires one, and none is made up.
    """
    missing = int(np.isnan(selection.kept["x"]).sum())
    if missing:
        raise InvalidInputError(
            f"{missing} face(s) have no box (a crop-only answer from {service or 'a service'}); "
            "Akool's response needs a box for every face"
        )
    return {"error_code": 0, "error_msg": "SUCCESS", "faces_obj": faces_obj(selection, table, integers=True)}


def faces_obj(selection: Selection, table: FaceTable, *, integers: bool = False) -> dict[str, dict[str, Any]]:
    """Akool's ``faces_obj`` of the selected faces, keyed by frame index.

    ``integers`` rounds pixels as Akool's schema says and leaves facekit's extensions out;
    otherwise values keep full precision and each frame also has ``scores`` and ``track_ids``
    beside ``region``, and ``removed_track_ids`` beside ``removed``.
    """
    with _gc_paused():
        return _render(selection, table, integers=integers)


def _render(selection: Selection, table: FaceTable, *, integers: bool) -> dict[str, dict[str, Any]]:
    kept, removed = selection.kept, selection.removed
    number = _integers if integers else _floats
    boxes = _known_rows(np.column_stack([kept[c] for c in BOX_COLUMNS]), number)
    points = np.column_stack([kept[c] for c in LANDMARK_COLUMNS]).reshape(-1, len(LANDMARKS), 2)
    landmarks = _known_rows(points, number)
    strings = landmarks_strs(points)
    scores = [None if math.isnan(s) else s for s in kept["score"].tolist()]
    track_ids = [None if math.isnan(t) else int(t) for t in kept["track_id"].tolist()]
    crops = _crops_of(kept, points, number) if table.has_crops else None
    removed_boxes = number(removed[BOX_COLUMNS].to_numpy(np.float64))
    removed_ids = [None if pd.isna(t) else int(t) for t in removed["track_id"].tolist()]
    rows_of = rows_by_frame(kept["frame"])
    removed_of = rows_by_frame(removed["frame"].to_numpy(np.int64))
    out: dict[str, dict[str, Any]] = {}
    for frame, time in zip(table.frame_index.tolist(), table.frame_time.tolist()):
        rows = rows_of.get(frame, _NO_ROWS)
        entry: dict[str, Any] = {
            "landmarks": landmarks[rows],
            "landmarks_str": strings[rows],
            "region": boxes[rows],
            "removed": removed_boxes[removed_of.get(frame, _NO_ROWS)],
            "frame_time": None if math.isnan(time) else time,
        }
        for key in OPTIONAL_FRAME_KEYS:
            entry[key] = None if crops is None else crops[key][rows]
        if not integers:
            entry["scores"] = scores[rows]
            entry["track_ids"] = track_ids[rows]
            entry["removed_track_ids"] = removed_ids[removed_of.get(frame, _NO_ROWS)]
        out[str(frame)] = entry
    return out


_NO_ROWS = slice(0, 0)
Number = Callable[[np.ndarray], list]


def _crops_of(kept: dict[str, np.ndarray], points: np.ndarray, number: Number) -> dict[str, list]:
    urls = [None if u is None or (isinstance(u, float) and math.isnan(u)) else str(u) for u in kept["crop_url"]]
    regions = np.column_stack([kept[c] for c in CROP_COLUMNS[1:]])
    relative = points - regions[:, None, :2]
    has = [u is not None for u in urls]
    return {
        "face_urls": urls,
        "crop_region": [region if ok else None for region, ok in zip(_known_rows(regions, number), has)],
        "crop_landmarks": [text if ok else None for text, ok in zip(landmarks_strs(relative), has)],
    }


def _known_rows(values: np.ndarray, number: Number) -> list:
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
