"""Where batch results go as they arrive: memory, and with an output folder, Parquet parts on disk.

Layout of an output folder (``pd.read_parquet(folder)`` reads just the final faces table, since
Parquet readers skip names that start with ``_`` or ``.``)::

    OUT.parquet/
      faces.parquet            the final faces table of the last finished run, in source order
      _status.parquet          its status table, one row per source
      _parts/faces-*.parquet   faces of each completed chunk, keyed   } written as chunks finish:
      _parts/status-*.parquet  status of each completed chunk, keyed  } what a re-run skips

Every file is written under a temporary name and renamed into place, so a killed run never
leaves half a file; a chunk's status part is written after its faces part and is what marks
its sources done.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd

from ..errors import InvalidInputError
from ..table import CROP_DTYPES, FACE_DTYPES, empty, typed

__all__ = ["BATCH_FACE_DTYPES", "FACES_FILE", "PARTS", "STATUS_DTYPES", "STATUS_FILE", "Store"]

PARTS = "_parts"
FACES_FILE = "faces.parquet"
STATUS_FILE = "_status.parquet"

STATUS_DTYPES: dict[str, str] = {
    "source": "string",
    "key": "string",
    "status": "string",
    "error_type": "string",
    "error": "string",
    "n_faces": "int64",
    "n_frames": "int64",
    "media": "string",
    "seconds": "float64",
    "cached": "bool",
}
BATCH_FACE_DTYPES: dict[str, str] = {"source": "string", **FACE_DTYPES, **CROP_DTYPES}
_KEYED_FACE_DTYPES: dict[str, str] = {"key": "string", **FACE_DTYPES, **CROP_DTYPES}


class Store:
    """Finished results by key: this run's in memory and, given a ``root``, every run's on disk."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._faces: list[pd.DataFrame] = []
        self._status: list[pd.DataFrame] = []
        self._earlier_faces: list[Path] = []
        if root is None:
            return
        if root.exists() and not root.is_dir():
            raise InvalidInputError(f"output {root} exists and is not a folder (a batch writes a Parquet folder)")
        parts = root / PARTS
        parts.mkdir(parents=True, exist_ok=True)
        for leftover in [*root.glob(".tmp-*"), *parts.glob(".tmp-*")]:  # a killed run's unfinished writes
            leftover.unlink(missing_ok=True)
        self._earlier_faces = sorted(parts.glob("faces-*.parquet"))
        self._status = [pd.read_parquet(p) for p in sorted(parts.glob("status-*.parquet"))]

    def done(self) -> frozenset[str]:
        """Keys whose results are stored."""
        return frozenset(key for table in self._status for key in table["key"])

    def add(self, rows: list[dict], faces: pd.DataFrame | None) -> None:
        """Keep the final rows of a chunk and their faces (on disk too when there is a root)."""
        status = typed(pd.DataFrame([r for r in rows if r.get("final")]), STATUS_DTYPES)
        if status.empty:
            return
        if faces is not None and not faces.empty:
            faces = typed(faces[faces["key"].isin(set(status["key"]))], _KEYED_FACE_DTYPES)
            self._faces.append(faces)
            self._write(faces, "faces")
        self._status.append(status)
        self._write(status, "status")

    def records(self, keys: pd.Series) -> pd.DataFrame:
        """The stored status row of each of ``keys`` (one per key)."""
        table = pd.concat(self._status, ignore_index=True) if self._status else empty(STATUS_DTYPES)
        return table[table["key"].isin(set(keys))].drop_duplicates("key")

    def faces(self, keys: set[str]) -> pd.DataFrame:
        """The faces stored under ``keys``, one copy each (a key done twice gives identical rows)."""
        earlier = [pd.read_parquet(p, filters=[("key", "in", list(keys))]) for p in self._earlier_faces] if keys else []
        tables = [t for t in [*earlier, *self._faces] if not t.empty]
        if not tables:
            return empty({k: v for k, v in _KEYED_FACE_DTYPES.items() if k in ("key", *FACE_DTYPES)})
        table = pd.concat(tables, ignore_index=True)
        return table[table["key"].isin(keys)].drop_duplicates(["key", "frame", "face"])

    def finish(self, faces: pd.DataFrame, status: pd.DataFrame) -> None:
        """Write the final tables of a run beside the parts."""
        if self.root is not None:
            _write_atomic(faces, self.root / FACES_FILE)
            _write_atomic(status, self.root / STATUS_FILE)

    def _write(self, table: pd.DataFrame, kind: str) -> None:
        if self.root is not None:
            _write_atomic(table, self.root / PARTS / f"{kind}-{uuid.uuid4().hex}.parquet")


def _write_atomic(table: pd.DataFrame, target: Path) -> None:
    """Write ``table`` to a temporary name beside ``target``, then rename it into place."""
    temporary = target.with_name(f".tmp-{uuid.uuid4().hex}-{target.name}")
    try:
        table.to_parquet(temporary, index=False)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
