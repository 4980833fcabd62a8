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


@dataclass(frozen=True)
class Detected:
    """The detections to evaluate: ``candidates`` (every candidate: ``source``, ``frame``,
    ``score``, boxes), ``kept`` (gives the faces at the threshold, with ``track_id``: tracking a
    long video costs time, so only when the truth has identities), ``threshold``,
    ``frames`` (the analysed (source, frame) pairs: a Batch does not record a video's frames
    without faces, so there only those with faces), whether they are ``video``
    and ``paths``: base name -> the file it was read from, where that is a file on this machine."""

    candidates: pd.DataFrame
    kept: Callable[[], pd.DataFrame]
    threshold: float
    frames: pd.DataFrame
    video: bool
    paths: dict[str, str]


@dataclass(frozen=True)
class Aligned:
    """Detections and truth sorted by picture, with the picture table they index."""

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
        candidates = obj.candidates().assign(source=name)
        kept = partial(_named_faces, obj, name)
        frames = pd.DataFrame({"source": name, "frame": np.asarray(obj.frames, np.int64)})
        return Detected(candidates, kept, obj.confidence, frames, obj.is_video, _files([obj.meta.get("source")]))
    if isinstance(obj, Batch):
        faces = obj.faces.assign(source=base_names(obj.faces["source"]))
        threshold = float(faces["score"].min()) if len(faces) else 1.0
        ok = obj.status[obj.status["status"] == "ok"]
        pictures = base_names(ok.loc[ok["media"] != "video", "source"])
        videos = faces[faces["source"].isin(set(base_names(ok.loc[ok["media"] == "video", "source"])))]
        frames = pd.concat([pd.DataFrame({"source": pictures, "frame": 0}), videos[["source", "frame"]]])
        frames = frames.drop_duplicates().reset_index(drop=True).astype({"source": object, "frame": np.int64})
        video = bool((ok["media"] == "video").any())
        return Detected(faces, lambda: faces, threshold, frames, video, _files(obj.status["source"]))
    raise InvalidInputError(f"evaluate takes a facekit Result or Batch, got {type(obj).__name__}")


def _named_faces(result: Any, name: str) -> pd.DataFrame:
    """A Result's kept faces (tracked) with its ``source`` name."""
    return result.to_frame().assign(source=name)


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
    return table.merge(found.frames.drop_duplicates(), on=["source", "frame"], how="inner")


def aligned(found: Detected, truth: pd.DataFrame) -> Aligned:
    """Detections and truth as :class:`Boxes` over one table of pictures (sorted by source, frame)."""
    dets = found.candidates
    tables = (dets, truth, found.frames)
    names = pd.Index(sorted({str(s) for t in tables for s in t["source"].unique()}))
    frames = [t["frame"].to_numpy(np.int64) for t in tables]
    stride = int(max((f.max(initial=0) for f in frames), default=0)) + 1
    keys = [
        names.get_indexer(pd.Index(t["source"].astype(object))).astype(np.int64) * stride + f
        for t, f in zip(tables, frames)
    ]
    pictures = np.unique(np.concatenate(keys))
    images = pd.DataFrame({"source": names.to_numpy(object)[pictures // stride], "frame": pictures % stride})
    det_image, truth_image = np.searchsorted(pictures, keys[0]), np.searchsorted(pictures, keys[1])
    score = dets["score"].to_numpy(np.float64)
    det_order = _sorted_by(det_image, -score)
    ignore = truth["ignore"].to_numpy(bool)
    truth_order = _sorted_by(truth_image, ignore)
    return Aligned(
        images,
        Boxes(det_image[det_order], dets[BOX_COLUMNS].to_numpy(np.float64)[det_order], score=score[det_order]),
        Boxes(
            truth_image[truth_order], truth[BOX_COLUMNS].to_numpy(np.float64)[truth_order], ignore=ignore[truth_order]
        ),
        truth.iloc[truth_order].reset_index(drop=True),
    )


def _sorted_by(first: np.ndarray, then: np.ndarray) -> np.ndarray:
    """Row order by ``first``, then ``then`` (stable); rows already in that order (a Result's
    candidates: by frame, then by descending score) cost one check instead of a sort."""
    step = first[1:] - first[:-1]
    if np.all((step > 0) | ((step == 0) & (then[1:] >= then[:-1]))):
        return np.arange(first.size)
    return np.lexsort((then, first))
