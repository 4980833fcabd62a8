"""Result files: a whole result (every candidate, the analysed frames, settings and run metadata)
as ``.json`` or ``.parquet``, written and read back without loss.

The file holds the canonical table, not a rendering: a Result read back can be filtered to any
threshold down to its floor, exactly like the one that was saved.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidInputError
from .table import FRAME_DTYPES, REMOVED_DTYPES, FaceTable

__all__ = ["FORMAT", "FORMAT_VERSION", "Saved", "read", "write"]

FORMAT = "facekit.Result"
FORMAT_VERSION = 1
_FEATURE = "feature_"  # candidate columns feature_0, feature_1, ... hold the appearance cues


@dataclass(frozen=True)
class Saved:
    """What a result file holds: the table, run metadata and the selection settings."""

    table: FaceTable
    meta: dict[str, Any]
    confidence: float
    single_face: bool
    floor: float


def write(path: str | os.PathLike[str], saved: Saved) -> Path:
    """Write ``saved`` to ``path``; the suffix (``.json`` or ``.parquet``) chooses the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    candidates = saved.table.to_frame().drop(columns="face", errors="ignore")
    if saved.table.features is not None:
        features = np.asarray(saved.table.features, dtype=np.float32)
        candidates = candidates.assign(**{f"{_FEATURE}{i}": features[:, i] for i in range(features.shape[1])})
    state = _state(saved)
    if suffix == ".json":
        state["candidates"] = {name: _json_list(candidates[name].to_numpy(object)) for name in candidates.columns}
        path.write_text(json.dumps(state, default=_json_default), encoding="utf-8")
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(candidates, preserve_index=False)
        metadata = dict(table.schema.metadata or {})
        metadata[b"facekit"] = json.dumps(state, default=_json_default).encode()
        pq.write_table(table.replace_schema_metadata(metadata), path)
    else:
        raise InvalidInputError(f"cannot save to {path.name}: use a .json or .parquet suffix")
    return path


def read(path: str | os.PathLike[str]) -> Saved:
    """Read a file written by :func:`write`; anything else is an :class:`InvalidInputError`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}")
    if suffix == ".json":
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:  # not JSON, or not UTF-8
            raise InvalidInputError(f"{path.name} is not a facekit Result file: {exc}") from exc
        if not isinstance(state, dict) or state.get("format") != FORMAT or "candidates" not in state:
            raise InvalidInputError(f"{path.name} is not a facekit Result file")
        return _saved(state, pd.DataFrame(state["candidates"]), path.name)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise InvalidInputError(f"{path.name} is not a Parquet file: {exc}") from exc
        raw = (table.schema.metadata or {}).get(b"facekit")
        if raw is None:
            raise InvalidInputError(f"{path.name} has no facekit metadata")
        return _saved(json.loads(raw), table.to_pandas(), path.name)
    raise InvalidInputError(f"cannot load {path.name}: use a .json or .parquet file")


def _state(saved: Saved) -> dict[str, Any]:
    table = saved.table
    frames = table.frames()
    if table.signatures is not None:
        frames = frames.assign(signature=[row.tolist() for row in np.asarray(table.signatures, np.float64)])
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "meta": saved.meta,
        "confidence": saved.confidence,
        "single_face": saved.single_face,
        "floor": saved.floor,
        "frames": _records(frames),
        "removed": None if table.removed is None else _records(table.removed),
    }


def _saved(state: dict[str, Any], candidates: pd.DataFrame, name: str) -> Saved:
    if state.get("format") != FORMAT:
        raise InvalidInputError(f"{name} is not a facekit Result file")
    try:
        frames = pd.DataFrame(state["frames"])
        removed = state.get("removed")
        feature_names = sorted((c for c in candidates.columns if c.startswith(_FEATURE)), key=lambda c: int(c[8:]))
        features = candidates[feature_names].to_numpy(np.float32) if feature_names else None
        signatures = np.array(frames["signature"].tolist(), np.float32) if "signature" in frames else None
        table = FaceTable.build(
            candidates.drop(columns=feature_names),
            frames[list(FRAME_DTYPES)] if len(frames) else pd.DataFrame(columns=list(FRAME_DTYPES)),
            removed=None if removed is None else pd.DataFrame(removed, columns=list(REMOVED_DTYPES)),
            features=features,
            signatures=signatures,
        )
        return Saved(table, dict(state["meta"]), state["confidence"], state["single_face"], state["floor"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} is not a valid facekit Result file: {exc!r}") from exc


def _json_list(values: np.ndarray) -> list:
    """A column as a JSON-safe list at full precision (NaN and NA become null)."""
    if values.dtype == object:
        return [None if _missing(v) else v for v in values.tolist()]
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values.tolist()]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts at full precision (NaN and NA become null; ``to_json`` keeps 10 digits)."""
    values = {name: _json_list(frame[name].to_numpy(object)) for name in frame.columns}
    return [dict(zip(values, row)) for row in zip(*values.values())]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
