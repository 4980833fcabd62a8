"""What runs where the detector is: a chunk of sources in, one status row each and their faces out.

The same functions serve the in-process run, the local worker processes and the Dask workers,
so every mode gives the same rows. A source's key is the sha256 of its bytes, the detect
options and the sha256 of the model variant that runs (after FACEKIT_* settings): the same
picture detected the same way has the same key, whatever its name, which is what lets a re-run
skip work already stored.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInputError
from ..media import locate
from ..options import DetectOptions
from ..pipeline import detect, resolve_variant

__all__ = ["UNKEYED_OPTIONS", "Chunk", "Task", "run_chunk", "warm"]

UNKEYED_OPTIONS = ("threads", "progress", "model")
"""Options left out of the key: speed and display never change a result, and the model is keyed
by its sha256 rather than by where it lies."""


_BLANK = np.zeros((32, 32, 3), np.uint8)


@dataclass(frozen=True)
class Task:
    """The detect options of a batch and the keys already stored (detected no more)."""

    options: DetectOptions
    done: frozenset[str] = field(default_factory=frozenset)

    @property
    def fingerprint(self) -> str:
        """The options that shape a result, as canonical JSON."""
        shaping = {k: v for k, v in self.options.canonical().items() if k not in UNKEYED_OPTIONS}
        return json.dumps(shaping, sort_keys=True, default=repr)


@dataclass
class Chunk:
    """What a chunk of sources gave: one status row per source, and the faces of those detected."""

    rows: list[dict[str, Any]]
    faces: pd.DataFrame | None


def warm(options: DetectOptions) -> None:
    """Load this process's detector now, by detecting in a blank picture with the batch's options.

    Going through ``detect`` itself puts in its per-process cache exactly the session the tasks
    will ask for (model variant, threads, ...), and checks the options' values on the way.
    """
    detect(_BLANK, options, crops=False, progress=False)


def run_chunk(task: Task, sources: list[str]) -> Chunk:
    """Detect faces in each source; a bad one becomes an error row and the chunk goes on."""
    options = task.options
    _, variant, aspect = resolve_variant(options.model, options.precision, options.aspect)
    salt = hashlib.sha256(f"{task.fingerprint}\n{variant.sha256}\n{aspect}".encode()).hexdigest()
    rows, tables = [], []
    for source in sources:
        row, table = _run_one(task, source, salt)
        rows.append(row)
        if table is not None:
            tables.append(table)
    return Chunk(rows, pd.concat(tables, ignore_index=True) if tables else None)


def _run_one(task: Task, source: str, salt: str) -> tuple[dict[str, Any], pd.DataFrame | None]:
    started = time.perf_counter()
    row: dict[str, Any] = {"source": source, "key": None, "cached": False}
    try:
        found = locate(source, task.options.resolved_limits())  # a file is hashed and decoded where it lies
        row["key"] = hashlib.sha256(found.sha256().encode() + salt.encode()).hexdigest()
        if row["key"] in task.done:
            return {**row, "cached": True}, None
        result = detect(found, task.options, progress=False)
    except Exception as exc:
        # Content errors (undecodable, too large) are final for that content; anything else
        # (no file, no network, a crash) is tried again on the next run.
        final = row["key"] is not None and isinstance(exc, InvalidInputError)
        return {
            **row,
            "status": "error",
            "error_type": type(exc).__name__,
            "error": " ".join(str(exc).split()),
            "n_faces": 0,
            "n_frames": 0,
            "media": None,
            "seconds": time.perf_counter() - started,
            "final": final,
        }, None
    faces = result.to_frame()
    faces.insert(0, "key", row["key"])
    return {
        **row,
        "status": "ok",
        "error_type": None,
        "error": None,
        "n_faces": len(faces),
        "n_frames": len(result.frames),
        "media": result.meta.get("media"),
        "seconds": time.perf_counter() - started,
        "final": True,
    }, faces
