"""Read an Akool answer (hosted or local, full response or bare ``faces_obj``) into a Result."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InvalidInputError
from .frame import BOX_COLUMNS, CROP_COLUMNS, LANDMARK_COLUMNS, REMOVED_DTYPES
from .schema import LANDMARKS

if TYPE_CHECKING:
    from .result import Result


def parse_akool(cls: type["Result"], obj: dict[str, Any] | str) -> "Result":
    """Faces, removed boxes, times and optional scores/track ids/crops of an Akool answer.

    Hosted answers carry no scores: those faces get NaN scores and are always kept. Anything
    malformed (not JSON, a value of the wrong type) is an :class:`InvalidInputError`.
    """
    try:
        return _parse_akool(cls, obj)
    except InvalidInputError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise InvalidInputError(f"not a valid Akool answer: {exc}") from exc


def _parse_akool(cls: type["Result"], obj: dict[str, Any] | str) -> "Result":
    if isinstance(obj, str):
        obj = json.loads(obj)
    if not isinstance(obj, dict):
        raise InvalidInputError("an Akool answer must be a JSON object")
    if "faces_obj" in obj:
        if obj.get("error_code", 0) != 0:
            raise InvalidInputError(f"the Akool answer is an error: {obj.get('error_msg')!r}")
        faces_obj = obj["faces_obj"]
    else:
        faces_obj = obj
    if not isinstance(faces_obj, dict):
        raise InvalidInputError("faces_obj must be an object keyed by frame index")
    try:
        frames = sorted(faces_obj.items(), key=lambda item: int(item[0]))
    except ValueError as exc:
        raise InvalidInputError("faces_obj keys must be frame indices") from exc

    rows: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    frame_rows: list[dict[str, Any]] = []
    has_crops = False
    has_track_ids = True  # only when every frame has them: partial ids would mix two numberings
    for key, entry in frames:
        frame = int(key)
        time = entry.get("frame_time")
        time = float("nan") if time is None else float(time)
        frame_rows.append({"frame": frame, "time": time})
        regions = entry.get("region") or []
        landmarks = entry.get("landmarks") or [None] * len(regions)
        scores = entry.get("scores") or [None] * len(regions)
        track_ids = entry.get("track_ids")
        has_track_ids &= track_ids is not None
        track_ids = track_ids or [None] * len(regions)
        urls = entry.get("face_urls") or [None] * len(regions)
        crop_regions = entry.get("crop_region") or [None] * len(regions)
        has_crops |= entry.get("face_urls") is not None
        if not len(landmarks) == len(scores) == len(urls) == len(crop_regions) == len(regions):
            raise InvalidInputError(f"frame {key}: region, landmarks, scores and crops differ in length")
        for region, points, score, track, url, crop in zip(regions, landmarks, scores, track_ids, urls, crop_regions):
            row = {"frame": frame, "time": time, "score": np.nan if score is None else float(score),
                   "track_id": track, **_box(region, key)}
            row.update(_points(points, key))
            if url is not None or crop is not None:
                row.update({"crop_url": url, **dict(zip(CROP_COLUMNS[1:], _box(crop, key).values()))})
            rows.append(row)
        for box in entry.get("removed") or []:
            removed.append({"frame": frame, "track_id": None, **_box(box, key)})

    columns = ["frame", "time", "score", "track_id", *BOX_COLUMNS, *LANDMARK_COLUMNS] + (CROP_COLUMNS if has_crops else [])
    candidates = pd.DataFrame(rows, columns=columns)
    if not has_track_ids:
        candidates["track_id"] = pd.NA
    media = "video" if any(not np.isnan(r["time"]) for r in frame_rows) or len(frame_rows) > 1 else "image"
    return cls(
        candidates,
        pd.DataFrame(frame_rows, columns=["frame", "time"]),
        {"source": "akool answer", "media": media, "model": "unknown"},
        confidence=0.0,
        removed=pd.DataFrame(removed, columns=list(REMOVED_DTYPES)),
    )


def _box(values: Any, key: str) -> dict[str, float]:
    if values is None:
        return dict.fromkeys(BOX_COLUMNS, np.nan)
    if len(values) != 4:
        raise InvalidInputError(f"frame {key}: a box must be [x, y, w, h], got {values!r}")
    return dict(zip(BOX_COLUMNS, map(float, values)))


def _points(points: Any, key: str) -> dict[str, float]:
    if points is None:
        return dict.fromkeys(LANDMARK_COLUMNS, np.nan)
    array = np.asarray(points, dtype=np.float64)
    if array.shape == (5, 2):  # a 5-point answer: derive the mouth centre as facekit does
        array = np.insert(array, 3, array[3:5].mean(axis=0), axis=0)
    if array.shape != (len(LANDMARKS), 2):
        raise InvalidInputError(f"frame {key}: landmarks must be 6 points [x, y], got shape {array.shape}")
    return dict(zip(LANDMARK_COLUMNS, array.reshape(-1).tolist()))
