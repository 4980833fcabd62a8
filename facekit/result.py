"""Result: one canonical table of every candidate face, and its renderings.

A Result keeps every candidate the detector returned down to its floor threshold. The faces a
user sees (``faces_obj``, ``to_akool()``, ``to_frame()``, plots) are the candidates at or above
``confidence`` (the largest per frame with ``single_face``), numbered and tracked. ``filter``
changes the threshold by masking this table and re-running the cheap tracker, never the model.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidInputError
from .frame import (
    BOX_COLUMNS,
    CROP_COLUMNS,
    CROP_DTYPES,
    FACE_DTYPES,
    FRAME_DTYPES,
    LANDMARK_COLUMNS,
    REMOVED_DTYPES,
    empty,
    typed,
)
from .schema import LANDMARKS, OPTIONAL_FRAME_KEYS, landmarks_str
from .tracking import assign_tracks

FORMAT_VERSION = 1


class Result:
    """Faces found in one image or video: Akool ``faces_obj``, DataFrames, plots and files.

    Build one with :func:`facekit.detect`, :meth:`from_akool` or :func:`facekit.load`.
    """

    def __init__(
        self,
        candidates: pd.DataFrame,
        frames: pd.DataFrame,
        meta: dict[str, Any],
        *,
        confidence: float,
        single_face: bool = False,
        floor: float = 0.0,
        removed: pd.DataFrame | None = None,
        picture: np.ndarray | None = None,
    ) -> None:
        if not 0.0 <= confidence <= 1.0:
            raise InvalidInputError(f"confidence must be between 0 and 1, got {confidence}")
        if confidence < floor:
            raise InvalidInputError(
                f"confidence {confidence} is below the floor {floor} this result was detected at; "
                f"run detect() again with confidence={confidence}"
            )
        dtypes = {**FACE_DTYPES, **CROP_DTYPES}
        if "track_id" not in candidates.columns:  # the tracker numbers them; hosted answers may not
            candidates = candidates.assign(track_id=pd.NA)
        self._candidates = typed(candidates.sort_values(["frame", "score"], ascending=[True, False], kind="stable"), dtypes)
        self._frames = typed(frames, FRAME_DTYPES)
        self._given_removed = removed
        self.confidence = float(confidence)
        self.single_face = bool(single_face)
        self.floor = float(floor)
        self.meta = dict(meta)
        self.meta.update(confidence=self.confidence, single_face=self.single_face, floor=self.floor)
        self._picture = picture
        self._faces, self._removed = self._select()

    # -- the selection every rendering shares ---------------------------------------------------

    def _select(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        table = self._candidates
        scores = table["score"]
        kept = table[(scores >= self.confidence) | scores.isna()]
        if self.single_face and len(kept):
            area = kept["w"] * kept["h"]
            kept = kept.loc[area.groupby(kept["frame"]).idxmax()]
        kept = kept.reset_index(drop=True)
        kept["face"] = kept.groupby("frame").cumcount().astype("int64")
        if len(kept) == 0 or kept["track_id"].isna().any():  # ids a hosted answer gave are kept as given
            track_ids, removed = assign_tracks(kept, self._frames)
            kept["track_id"] = pd.array(track_ids, dtype="Int64")
        else:
            removed = empty(REMOVED_DTYPES)
        if self._given_removed is not None:
            removed = self._given_removed
        return typed(kept, {**FACE_DTYPES, **CROP_DTYPES}), typed(removed, REMOVED_DTYPES)

    @property
    def has_crops(self) -> bool:
        return "crop_url" in self._candidates.columns

    @property
    def is_video(self) -> bool:
        return self.meta.get("media") == "video"

    @property
    def frames(self) -> list[int]:
        """Indices of the analysed frames, in order."""
        return self._frames["frame"].tolist()

    def __len__(self) -> int:
        """Number of faces kept, over all frames."""
        return len(self._faces)

    def __repr__(self) -> str:
        return (
            f"<facekit.Result {self.meta.get('media', '?')} {self.meta.get('source', '')!r}: "
            f"{len(self)} faces in {len(self._frames)} frame(s) at confidence {self.confidence}>"
        )

    # -- renderings ----------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per kept face per frame, with the columns and dtypes of ``facekit.frame``."""
        return self._faces.copy()

    def candidates(self) -> pd.DataFrame:
        """Every candidate down to the floor threshold, kept or not; ``track_id`` only where the source gave one."""
        return self._candidates.drop(columns=["face"], errors="ignore").copy()

    def removed(self) -> pd.DataFrame:
        """Per frame, the last boxes of tracks present in the previous analysed frame and gone in this one."""
        return self._removed.copy()

    def tracks(self) -> pd.DataFrame:
        """One row per track: first/last frame and time, frames seen, score and size statistics."""
        faces = self._faces
        if faces.empty:
            return empty(
                {"track_id": "Int64", "first_frame": "int64", "last_frame": "int64", "first_time": "float64",
                 "last_time": "float64", "n_frames": "int64", "mean_score": "float64", "max_score": "float64",
                 "mean_w": "float64", "mean_h": "float64"}
            )
        grouped = faces.groupby("track_id", sort=True)
        table = grouped.agg(
            first_frame=("frame", "min"), last_frame=("frame", "max"), first_time=("time", "min"),
            last_time=("time", "max"), n_frames=("frame", "nunique"), mean_score=("score", "mean"),
            max_score=("score", "max"), mean_w=("w", "mean"), mean_h=("h", "mean"),
        )
        return table.reset_index()

    @property
    def faces_obj(self) -> dict[str, dict[str, Any]]:
        """Akool's ``faces_obj`` at full precision, plus ``scores`` and ``track_ids`` beside ``region``."""
        return self._render(integers=False, extensions=True)

    def to_akool(self) -> dict[str, Any]:
        """Exactly Akool's FaceDetectionResponse: integer pixels, no extension keys."""
        return {"error_code": 0, "error_msg": "SUCCESS", "faces_obj": self._render(integers=True, extensions=False)}

    def _render(self, *, integers: bool, extensions: bool) -> dict[str, dict[str, Any]]:
        faces, removed = self._faces, self._removed
        number = (lambda a: np.rint(a).astype(np.int64).tolist()) if integers else (lambda a: a.astype(float).tolist())
        boxes = number(faces[BOX_COLUMNS].to_numpy(np.float64))
        points = faces[LANDMARK_COLUMNS].to_numpy(np.float64).reshape(-1, len(LANDMARKS), 2)
        landmarks = number(points)
        strings = [landmarks_str(p) for p in points]
        scores = [None if math.isnan(s) else s for s in faces["score"].tolist()]
        track_ids = [None if pd.isna(t) else int(t) for t in faces["track_id"]]
        crops = self._render_crops(faces, points, number) if self.has_crops else None
        removed_boxes = number(removed[BOX_COLUMNS].to_numpy(np.float64))
        rows_by_frame = faces.groupby("frame", sort=False).indices
        removed_by_frame = removed.groupby("frame", sort=False).indices
        out: dict[str, dict[str, Any]] = {}
        for frame, time in zip(self._frames["frame"].tolist(), self._frames["time"].tolist()):
            rows = rows_by_frame.get(frame, ())
            entry: dict[str, Any] = {
                "landmarks": [landmarks[i] for i in rows],
                "landmarks_str": [strings[i] for i in rows],
                "region": [boxes[i] for i in rows],
                "removed": [removed_boxes[i] for i in removed_by_frame.get(frame, ())],
                "frame_time": None if math.isnan(time) else time,
            }
            for key in OPTIONAL_FRAME_KEYS:
                entry[key] = None if crops is None else [crops[key][i] for i in rows]
            if extensions:
                entry["scores"] = [scores[i] for i in rows]
                entry["track_ids"] = [track_ids[i] for i in rows]
            out[str(frame)] = entry
        return out

    @staticmethod
    def _render_crops(faces: pd.DataFrame, points: np.ndarray, number) -> dict[str, list]:
        urls = [None if pd.isna(u) else str(u) for u in faces["crop_url"]]
        has = np.array([u is not None for u in urls], dtype=bool)
        regions = faces[CROP_COLUMNS[1:]].to_numpy(np.float64)
        region_values = number(np.nan_to_num(regions))
        relative = points - regions[:, None, :2]
        return {
            "face_urls": urls,
            "crop_region": [region_values[i] if has[i] else None for i in range(len(urls))],
            "crop_landmarks": [landmarks_str(relative[i]) if has[i] else None for i in range(len(urls))],
        }

    # -- derived results -----------------------------------------------------------------------

    def filter(self, confidence: float | None = None, *, single_face: bool | None = None) -> "Result":
        """The same detections at another threshold (or single-face mode), without running the model."""
        return Result(
            self._candidates,
            self._frames,
            self.meta,
            confidence=self.confidence if confidence is None else confidence,
            single_face=self.single_face if single_face is None else single_face,
            floor=self.floor,
            removed=self._given_removed,
            picture=self._picture,
        )

    # -- plots ---------------------------------------------------------------------------------

    def plot(self, frame: int | None = None, ax=None, **style):
        """Draw the picture (or a video frame) with boxes, the six landmarks and track/score labels."""
        from .plot import overlay

        frame = self.frames[0] if frame is None else frame
        if frame not in self.frames:
            raise InvalidInputError(f"frame {frame} was not analysed; analysed frames: {self.frames[:10]}...")
        faces = self._faces[self._faces["frame"] == frame]
        size = (self.meta.get("width"), self.meta.get("height"))
        return overlay(self._picture if frame == self.frames[0] else None, faces, ax=ax, size=size, **style)

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
            state = self._state() | {"candidates": json.loads(candidates.to_json(orient="split", index=False))}
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
        state = json.loads(path.read_text(encoding="utf-8"))
        split = state["candidates"]
        candidates = pd.DataFrame(split["data"], columns=split["columns"])
        return Result._from_state(state, candidates)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(b"facekit")
        if raw is None:
            raise InvalidInputError(f"{path.name} has no facekit metadata")
        return Result._from_state(json.loads(raw), table.to_pandas())
    raise InvalidInputError(f"cannot load {path.name}: use a .json or .parquet file")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN and NA become null)."""
    return json.loads(frame.to_json(orient="records"))


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
