"""``fk.detect_many``: detect faces in many files, locally in parallel or on a Dask cluster.

The flow: sources are expanded into distinct paths and URLs (:mod:`.sources`), cut into chunks
that run where the detector is (:mod:`.work`: in this process, in worker processes
(:mod:`.local`) or on Dask (:mod:`.cluster`)), and each finished chunk is stored as it arrives
(:mod:`.store`), so an interrupted run with ``output=`` resumes where it stopped.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engine import default_threads
from ..errors import InvalidInputError
from ..options import DetectOptions
from ..pipeline import interactive
from ..table import typed
from . import local
from .sources import SourcesLike, expand
from .store import BATCH_FACE_DTYPES, FACES_FILE, STATUS_DTYPES, STATUS_FILE, Store
from .work import Chunk, Task, warm

POOL_MIN_SOURCES = 16
"""Below this many sources, starting worker processes costs more than it saves: run in-process."""
CHUNKS_PER_SLOT = 8
"""Chunks per parallel slot: enough to balance the load and to store progress often."""
MAX_CHUNK = 32


@dataclass(frozen=True)
class Batch:
    """What :func:`detect_many` found.

    ``faces``: one row per face per frame, ``source`` then the columns of ``Result.to_frame()``,
    in the order the sources were given. ``status``: one row per source: ``source``, ``key``
    (sha256 of bytes + options + model; NA when unread), ``status`` ("ok" or "error"),
    ``error_type``, ``error``, ``n_faces``, ``n_frames`` (analysed), ``media``, ``seconds``
    (detection time, in the run that did it) and ``cached`` (True: taken from ``output``, not detected again).
    """

    faces: pd.DataFrame
    status: pd.DataFrame
    seconds: float = math.nan  # wall time of the run; NaN when read back from a folder

    @property
    def errors(self) -> pd.DataFrame:
        """The status rows of the sources that failed."""
        return self.status[self.status["status"] == "error"]

    @property
    def files_per_second(self) -> float:
        return len(self.status) / self.seconds if self.seconds > 0 else math.nan

    def _repr_html_(self) -> str:
        """Counts and the first rows, in a notebook."""
        from ..display import batch_html

        return batch_html(self)

    def __repr__(self) -> str:
        return (
            f"<facekit.Batch {len(self.status)} sources: {int((self.status['status'] == 'ok').sum())} ok, "
            f"{len(self.errors)} errors, {int(self.status['cached'].sum())} cached; {len(self.faces)} faces>"
        )


def detect_many(
    sources: SourcesLike,
    *,
    output: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
    **detect_options: Any,
) -> Batch:
    """Detect faces in every source and return a :class:`Batch`; a bad file becomes an error row.

    ``sources``: paths, globs, folders (walked recursively, media told by content), http(s)
    URLs, or a pandas Series of them. ``detect_options`` go to :func:`facekit.detect` for each.
    ``output``: a folder where results are stored as they finish (see :mod:`facekit.batch.store`);
    running the same call again detects only what is not stored yet. ``workers``: local worker
    processes (default: one per core for 16 sources or more, else none); 1 or 0 runs in this
    process. onnxruntime threads default to cores / workers, so the two never oversubscribe.
    ``scheduler``: a ``dask.distributed.Client`` or a scheduler address: run on that cluster
    instead, one onnxruntime thread per Dask thread unless ``threads=`` says otherwise.
    ``progress``: a bar over sources (None: when interactive).
    """
    started = time.perf_counter()
    items = expand(sources)
    options = DetectOptions.of(**detect_options)
    store = Store(Path(output).expanduser() if output is not None else None)
    rows: list[dict[str, Any]] = []
    from tqdm.auto import tqdm

    show = interactive() if progress is None else progress
    with tqdm(total=len(items), unit="file", desc="facekit batch", disable=not show) as bar:
        for chunk in _run(items, workers, scheduler, options, store.done()):
            store.add(chunk.rows, chunk.faces)
            rows.extend(chunk.rows)
            bar.update(len(chunk.rows))
    status = _status(items, rows, store)
    batch = Batch(_faces(status, store), status, time.perf_counter() - started)
    store.finish(batch.faces, batch.status)
    return batch


def read(output: str | os.PathLike[str]) -> Batch:
    """The tables of the last finished :func:`detect_many` run into ``output``."""
    root = Path(output).expanduser()
    if not (root / FACES_FILE).is_file():
        raise InvalidInputError(f"{root} holds no finished batch (no {FACES_FILE})")
    return Batch(pd.read_parquet(root / FACES_FILE), pd.read_parquet(root / STATUS_FILE))


def _run(
    items: list[str], workers: int | None, scheduler: Any, options: DetectOptions, done: frozenset[str]
) -> Iterator[Chunk]:
    """Chunk results as they complete, from a Dask cluster or from this machine."""
    if not items:
        return
    if scheduler is not None:
        if workers is not None:
            raise InvalidInputError("detect_many: give workers= or scheduler=, not both")
        from . import cluster

        with cluster.connect(scheduler) as client:
            task = Task(DetectOptions.of(options, threads=options.threads or 1), done)
            yield from cluster.run(client, _chunked(items, cluster.slots(client)), task)
        return
    cores = default_threads()
    if workers is None:
        workers = cores if len(items) >= POOL_MIN_SOURCES else 1
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise InvalidInputError(f"workers must be a whole number >= 0, got {workers!r}")
    workers = max(1, min(workers, len(items)))
    task = Task(DetectOptions.of(options, threads=options.threads or max(1, cores // workers)), done)
    warm(task.options)  # checks the options' values and fetches the model once, before any worker starts
    yield from local.run(_chunked(items, workers), task, workers)


def _chunked(items: list[str], slots: int) -> list[list[str]]:
    size = max(1, min(MAX_CHUNK, math.ceil(len(items) / (slots * CHUNKS_PER_SLOT))))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _status(items: list[str], rows: list[dict[str, Any]], store: Store) -> pd.DataFrame:
    """One status row per source, in source order; a cached source shows its stored row."""
    if not rows:
        return typed(pd.DataFrame(columns=list(STATUS_DTYPES)), STATUS_DTYPES)
    table = pd.DataFrame(rows).drop(columns="final", errors="ignore")
    cached = table["cached"].astype(bool)
    if cached.any():
        stored = store.records(table.loc[cached, "key"]).drop(columns=["source", "cached"])
        table = pd.concat([table[~cached], table.loc[cached, ["source", "key", "cached"]].merge(stored, on="key")])
    order = {source: i for i, source in enumerate(items)}
    return typed(table.sort_values("source", key=lambda s: s.map(order)), STATUS_DTYPES)


def _faces(status: pd.DataFrame, store: Store) -> pd.DataFrame:
    """The faces of every ok source, in source order, then frame and face as ``to_frame`` gives them."""
    done = status.loc[status["status"] == "ok", ["source", "key"]].reset_index(drop=True)
    faces = store.faces(set(done["key"]))
    table = done.assign(_order=np.arange(len(done))).merge(faces, on="key")
    table = table.sort_values(["_order", "frame", "face"], kind="stable")
    return typed(table, BATCH_FACE_DTYPES)


__all__ = ["Batch", "detect_many", "read"]
