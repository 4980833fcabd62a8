"""What is evaluated: a Result or Batch as detections, and the truth rows that belong to them.

Pictures are keyed by (``source``, ``frame``): ``source`` is a file's base name, so truth naming
``0--Parade/0_Parade_1.jpg`` meets a batch row for ``/data/0_Parade_1.jpg``. A single Result
takes the truth rows of its own file, or all of them when the truth names one file or none; a
video Result only the truth of the frames it analysed.
"""

from __future__ import annotations

import ntpath
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInputError
from ..table import BOX_COLUMNS
from ..truth import read_truth
from .matching import Boxes

__all__ = ["Aligned", "Detected", "aligned", "base_name", "base_names", "detected", "distinct", "truth_for"]


@dataclass(frozen=True)
class Detected:
    """The detections to evaluate, as arrays (a million candidates stay out of pandas): per
    candidate its ``source`` (index into ``names``, the files' base names), ``frame``, ``score``
    and [x, y, w, h] ``boxes``; ``kept`` gives the faces at the threshold, with ``track_id``
    (tracking a long video costs time, so only when the truth has identities), ``threshold``,
    ``frames`` (the analysed (source, frame) pairs: a Batch does not record a video's frames
    without faces, so there only those with faces), whether they are ``video`` and ``paths``:
    base name -> the file it was read from, where that is a file on this machine."""

    names: np.ndarray
    source: np.ndarray
    frame: np.ndarray
    score: np.ndarray
    boxes: np.ndarray
    kept: Callable[[], pd.DataFrame]
    threshold: float
    frames: pd.DataFrame
    video: bool
    paths: dict[str, str]


@dataclass(frozen=True)
class Aligned:
    """Detections (in their own order) and truth (sorted by picture) over the picture table they index."""

    images: pd.DataFrame  # source, frame
    dets: Boxes
    truth: Boxes
    truth_rows: pd.DataFrame  # the truth, in the order of ``truth``


def detected(obj: Any) -> Detected:
    """A Result (every candidate, threshold ``confidence``) or a Batch (its faces: a batch keeps
    only the faces at its confidence, so its lowest score stands for the threshold) as detections."""
    from ..batch import Batch
    from ..result import Result

    if isinstance(obj, Result):
        name = base_name(obj.meta.get("source"))
        table = obj.candidates()
        frames = pd.DataFrame({"source": name, "frame": np.asarray(obj.frames, np.int64)})
        return Detected(
            np.array([name], object),
            np.zeros(len(table), np.int64),
            *_columns(table),
            partial(_named_faces, obj, name),
            obj.confidence,
            frames,
            obj.is_video,
            _files([obj.meta.get("source")]),
        )
    if isinstance(obj, Batch):
        faces = obj.faces
        codes, names = _factorized(faces["source"])
        codes, names = _merged(codes, base_names(pd.Series(names, dtype=object)))
        frame, score, boxes = _columns(faces)
        ok = obj.status[obj.status["status"] == "ok"]
        videos = set(base_names(ok.loc[ok["media"] == "video", "source"]))
        frames = pd.concat(
            [
                pd.DataFrame({"source": base_names(ok.loc[ok["media"] != "video", "source"]), "frame": 0}),
                _video_frames(codes, frame, names, np.isin(names, list(videos))),
            ]
        )
        frames = frames.drop_duplicates().reset_index(drop=True).astype({"source": object, "frame": np.int64})
        threshold = float(score.min()) if score.size else 1.0
        kept = partial(_renamed, faces, names, codes)
        return Detected(
            names, codes, frame, score, boxes, kept, threshold, frames, bool(videos), _files(obj.status["source"])
        )
    raise InvalidInputError(f"evaluate takes a facekit Result or Batch, got {type(obj).__name__}")


def _columns(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A face table's ``frame``, ``score`` and boxes as arrays."""
    return (
        table["frame"].to_numpy(np.int64),
        table["score"].to_numpy(np.float64),
        table[BOX_COLUMNS].to_numpy(np.float64),
    )


def _factorized(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of a Batch's ``source`` column (a missing name is a value of its own).

    Arrow strings and categories factorize natively. Python strings are factorized run by run: a
    Batch's faces come grouped by source, so a million rows cost a comparison each (the same name
    object compares at once) instead of a hash each, and only each run's first name is hashed.
    """
    if values.dtype != object:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        return codes.astype(np.int64), np.asarray(uniques, object)
    array = values.to_numpy(object)
    try:
        starts = np.flatnonzero(np.r_[array.size > 0, array[1:] != array[:-1]])
    except TypeError:  # a missing name (NA has no truth value): hash every row
        starts = np.arange(array.size)
    run_codes, run_names = pd.factorize(array[starts], use_na_sentinel=False)
    return np.repeat(run_codes.astype(np.int64), np.diff(np.r_[starts, array.size])), np.asarray(run_names, object)


def _merged(codes: np.ndarray, names: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes over distinct ``names`` (two paths can share a base name: they become one source)."""
    again, distinct = pd.factorize(names, use_na_sentinel=False)
    return again[codes].astype(np.int64), np.asarray(distinct, object)


def _video_frames(codes: np.ndarray, frame: np.ndarray, names: np.ndarray, video: np.ndarray) -> pd.DataFrame:
    """The distinct (source, frame) pairs of the faces found in videos (``video``: per name)."""
    on_video = video[codes] if codes.size else np.zeros(0, bool)
    stride = int(frame.max(initial=0)) + 1
    keys = distinct(codes[on_video] * stride + frame[on_video])
    return pd.DataFrame({"source": names[keys // stride], "frame": keys % stride})


def distinct(keys: np.ndarray) -> np.ndarray:
    """The sorted distinct values of non-negative integer ``keys``: counted when their range is
    small against their number (O(n), as picture keys of a video are), else sorted."""
    if keys.size and keys.max() < 4 * keys.size + 1024:
        return np.flatnonzero(np.bincount(keys))
    return np.unique(keys)


def _index_of(keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Position of each of ``keys`` in the sorted ``table`` that holds them all (a lookup array when small)."""
    if table.size and table[-1] < 4 * (keys.size + table.size) + 1024:
        lookup = np.zeros(int(table[-1]) + 1, np.int64)
        lookup[table] = np.arange(table.size)
        return lookup[keys]
    return np.searchsorted(table, keys)


def _named_faces(result: Any, name: str) -> pd.DataFrame:
    """A Result's kept faces (tracked) with its ``source`` name."""
    return result.to_frame().assign(source=name)


def _renamed(faces: pd.DataFrame, names: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
    """A Batch's faces with their sources' base names."""
    return faces.assign(source=names[codes])


def _files(sources: Any) -> dict[str, str]:
    """Base name -> path of the ``sources`` that are files here (the plots decode them again)."""
    return {base_name(s): str(s) for s in sources if isinstance(s, str) and Path(s).is_file()}


def base_names(sources: pd.Series) -> pd.Series:
    """:func:`base_name` of each source (NA stays NA), computed once per distinct value."""
    codes, uniques = pd.factorize(sources)
    named = np.array([base_name(s) for s in uniques] + [pd.NA], dtype=object)
    return pd.Series(named[codes], index=sources.index, dtype=object)


def base_name(source: Any) -> str:
    """A file's name without its folders (either separator); "" for no name."""
    return "" if source is None or pd.isna(source) else ntpath.basename(str(source).replace("/", "\\"))


def truth_for(found: Detected, truth: Any) -> pd.DataFrame:
    """The truth rows (from a path or table) that belong to the detections' pictures."""
    table = read_truth(truth)
    named = base_names(table["source"]).astype("string")
    sources = found.frames["source"].unique()
    if len(sources) == 1 and named.dropna().nunique() <= 1:
        named = pd.Series(sources[0], index=table.index, dtype="string")
    elif named.isna().any():
        raise InvalidInputError("the truth does not name its files, so it cannot be matched to several sources")
    table = table.assign(source=named.astype(object))
    if len(table) and not table["source"].isin(set(sources)).any():
        raise InvalidInputError(f"the truth names none of the detected files ({', '.join(map(str, sources[:5]))})")
    return table[_analysed(table, found.frames)].reset_index(drop=True)


def _analysed(table: pd.DataFrame, frames: pd.DataFrame) -> np.ndarray:
    """Which rows of ``table`` lie on an analysed (source, frame) of ``frames`` (integer keys: a merge costs more)."""
    names = pd.Index(frames["source"].unique())
    frame, seen = table["frame"].to_numpy(np.int64), frames["frame"].to_numpy(np.int64)
    stride = int(max(frame.max(initial=0), seen.max(initial=0))) + 1
    code = names.get_indexer(pd.Index(table["source"]))
    return (code >= 0) & np.isin(code * stride + frame, names.get_indexer(pd.Index(frames["source"])) * stride + seen)


def aligned(found: Detected, truth: pd.DataFrame) -> Aligned:
    """Detections and truth as :class:`Boxes` over one table of pictures (sorted by source, frame)."""
    names = pd.Index(
        sorted({str(s) for s in found.names} | {str(s) for t in (truth, found.frames) for s in t["source"].unique()})
    )
    frames = [found.frame, truth["frame"].to_numpy(np.int64), found.frames["frame"].to_numpy(np.int64)]
    stride = int(max(f.max(initial=0) for f in frames)) + 1
    named = [
        names.get_indexer(pd.Index(found.names)).astype(np.int64)[found.source],
        *(names.get_indexer(pd.Index(t["source"].astype(object))).astype(np.int64) for t in (truth, found.frames)),
    ]
    keys = [n * stride + f for n, f in zip(named, frames)]
    pictures = distinct(np.concatenate(keys))
    images = pd.DataFrame({"source": names.to_numpy(object)[pictures // stride], "frame": pictures % stride})
    ignore = truth["ignore"].to_numpy(bool)
    truth_image = _index_of(keys[1], pictures)
    order = np.lexsort((ignore, truth_image))
    return Aligned(
        images,
        Boxes(_index_of(keys[0], pictures), found.boxes, score=found.score),
        Boxes(truth_image[order], truth[BOX_COLUMNS].to_numpy(np.float64)[order], ignore=ignore[order]),
        truth.iloc[order].reset_index(drop=True),
    )
