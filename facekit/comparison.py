"""``fk.compare``: how far two Results agree, face by face and frame by frame.

Faces are paired per frame by maximum total IoU (Hungarian assignment); a pair counts as a match
at IoU >= ``iou``. Typical uses: local vs hosted answers, two models, two thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InvalidInputError
from .geometry import iou_matrix, match
from .result import Result
from .schema import LANDMARKS
from .table import BOX_COLUMNS

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    """Agreement of ``b`` with ``a`` over the frames both analysed.

    ``agreement`` is matched / union (matched + missing + extra), ``precision`` the share of b's
    faces that match one of a's, ``recall`` the share of a's faces that b found (1.0 when there
    is nothing to find). ``frames`` has one row per frame of either result (``in_a``/``in_b``
    say which analysed it; counts are NA for a frame the other did not analyse), ``matches``
    one row per matched pair with IoU, scores and landmark distances in pixels, ``unmatched`` one
    row per face left over: ``missing`` (in a, not b) or ``extra`` (in b, not a), with its box.
    """

    iou: float
    n_a: int
    n_b: int
    matched: int
    frames: pd.DataFrame
    matches: pd.DataFrame
    unmatched: pd.DataFrame
    only_a: list[int]
    only_b: list[int]

    @property
    def missing(self) -> int:
        """Faces of a with no match in b (in the frames both analysed)."""
        return self.n_a - self.matched

    @property
    def extra(self) -> int:
        """Faces of b with no match in a (in the frames both analysed)."""
        return self.n_b - self.matched

    @property
    def agreement(self) -> float:
        union = self.n_a + self.n_b - self.matched
        return self.matched / union if union else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.n_b if self.n_b else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.n_a if self.n_a else 1.0

    def summary(self) -> dict[str, float | int | list[int]]:
        """The overall numbers as a plain dict (for logs, JSON, assertions)."""
        return {
            "agreement": self.agreement,
            "precision": self.precision,
            "recall": self.recall,
            "n_a": self.n_a,
            "n_b": self.n_b,
            "matched": self.matched,
            "missing": self.missing,
            "extra": self.extra,
            "iou_threshold": self.iou,
            "mean_iou": float(self.matches["iou"].mean()) if len(self.matches) else float("nan"),
            "frames_only_in_a": self.only_a,
            "frames_only_in_b": self.only_b,
        }

    def _repr_html_(self) -> str:
        """The summary and the first unmatched faces, in a notebook."""
        from .display import comparison_html

        return comparison_html(self)

    def __repr__(self) -> str:
        text = (
            f"<facekit.Comparison agreement={self.agreement:.3f} precision={self.precision:.3f} "
            f"recall={self.recall:.3f}: {self.matched} matched, {self.missing} missing, {self.extra} extra "
            f"at IoU >= {self.iou:g}"
        )
        if self.only_a or self.only_b:
            text += f"; frames only in a: {self.only_a}, only in b: {self.only_b}"
        return text + ">"


_DISTANCE_COLUMNS = [f"{name}_dist" for name in LANDMARKS]
_POINTS = [(f"{name}_x", f"{name}_y") for name in LANDMARKS]


def compare(a: Result, b: Result, *, iou: float = 0.5) -> Comparison:
    """Match the faces of ``b`` to those of ``a`` frame by frame and report where they differ.

    Both Results need boxes: crop-only answers (Magic Hour, CRUN) cannot be compared by position.
    Frames analysed by only one of them are listed (``only_a``, ``only_b``, and rows of
    ``frames``) and left out of the overall numbers, since the other result never looked there.
    """
    if not 0.0 < iou <= 1.0:
        raise InvalidInputError(f"iou must be in (0, 1], got {iou}")
    faces_a, faces_b = _faces(a, "a"), _faces(b, "b")
    frames_a, frames_b = set(a.frames), set(b.frames)
    by_frame_a, by_frame_b = dict(list(faces_a.groupby("frame"))), dict(list(faces_b.groupby("frame")))
    empty_a, empty_b = faces_a.iloc[:0], faces_b.iloc[:0]
    frame_rows, match_tables, unmatched_tables = [], [], []
    for frame in sorted(frames_a | frames_b):
        one, two = by_frame_a.get(frame, empty_a), by_frame_b.get(frame, empty_b)
        if frame in frames_a and frame in frames_b:
            pairs = _match(one, two, iou, frame)
            match_tables.append(pairs)
            unmatched_tables += [_unmatched(one, pairs["face_a"], "missing"), _unmatched(two, pairs["face_b"], "extra")]
            frame_rows.append(_frame_row(frame, True, True, len(one), len(two), pairs))
        else:
            frame_rows.append(_frame_row(frame, frame in frames_a, frame in frames_b, len(one), len(two), None))
    matches = pd.concat(match_tables, ignore_index=True) if match_tables else _match(empty_a, empty_b, iou, 0)
    unmatched = (
        pd.concat(unmatched_tables, ignore_index=True) if unmatched_tables else _unmatched(empty_a, [], "missing")
    )
    frames = pd.DataFrame(frame_rows).astype(
        {"n_a": "Int64", "n_b": "Int64", "matched": "Int64", "missing": "Int64", "extra": "Int64"}
    )
    shared = frames["in_a"] & frames["in_b"]
    return Comparison(
        iou=float(iou),
        n_a=int(frames.loc[shared, "n_a"].sum()),
        n_b=int(frames.loc[shared, "n_b"].sum()),
        matched=len(matches),
        frames=frames,
        matches=matches,
        unmatched=unmatched,
        only_a=sorted(frames_a - frames_b),
        only_b=sorted(frames_b - frames_a),
    )


def _faces(result: Result, name: str) -> pd.DataFrame:
    """The kept faces of ``result``, refusing anything without boxes."""
    if not isinstance(result, Result):
        raise InvalidInputError(f"compare() takes two facekit Results; {name} is a {type(result).__name__}")
    faces = result.to_frame()
    unboxed = faces[BOX_COLUMNS].isna().any(axis=1)
    if unboxed.any():
        source = result.meta.get("service") or result.meta.get("source", "?")
        raise InvalidInputError(
            f"compare() needs face boxes, but {unboxed.sum()} face(s) of {name} ({source}) have none: "
            "crop-only answers (Magic Hour, CRUN) cannot be matched by position; compare Akool or local results"
        )
    return faces


def _match(one: pd.DataFrame, two: pd.DataFrame, threshold: float, frame: int) -> pd.DataFrame:
    """The matched pairs of one frame: Hungarian assignment on IoU, kept at IoU >= threshold."""
    overlap = iou_matrix(one[BOX_COLUMNS].to_numpy(np.float64), two[BOX_COLUMNS].to_numpy(np.float64))
    rows, cols = match(overlap, threshold, method="hungarian")
    pa, pb = one.iloc[rows], two.iloc[cols]
    distances = {
        column: np.hypot(
            pa[x].to_numpy(np.float64) - pb[x].to_numpy(np.float64),
            pa[y].to_numpy(np.float64) - pb[y].to_numpy(np.float64),
        )
        for column, (x, y) in zip(_DISTANCE_COLUMNS, _POINTS)
    }
    stacked = np.column_stack([*distances.values(), np.zeros(rows.size)])[:, :-1]
    counted = (~np.isnan(stacked)).sum(axis=1)
    mean = np.divide(np.nansum(stacked, axis=1), counted, out=np.full(rows.size, np.nan), where=counted > 0)
    size = np.sqrt(pa["w"].to_numpy(np.float64) * pa["h"].to_numpy(np.float64))
    return pd.DataFrame(
        {
            "frame": np.full(rows.size, frame, np.int64),
            "face_a": pa["face"].to_numpy(np.int64),
            "face_b": pb["face"].to_numpy(np.int64),
            "iou": overlap[rows, cols],
            "score_a": pa["score"].to_numpy(np.float64),
            "score_b": pb["score"].to_numpy(np.float64),
            **distances,
            "landmark_px": mean,
            "landmark_norm": mean / size,
        }
    )


def _unmatched(faces: pd.DataFrame, matched: pd.Series | list, kind: str) -> pd.DataFrame:
    """The faces of one frame and one side that no pair took, labelled ``missing`` or ``extra``."""
    left = faces[~faces["face"].isin(list(matched))]
    table = left[["frame", "face", "score", *BOX_COLUMNS]].reset_index(drop=True)
    table.insert(0, "kind", kind)
    return table


def _frame_row(frame: int, in_a: bool, in_b: bool, n_a: int, n_b: int, pairs: pd.DataFrame | None) -> dict:
    """One line of the per-frame table; counts are NA where one side never analysed the frame."""
    if pairs is None:
        return {
            "frame": frame,
            "in_a": in_a,
            "in_b": in_b,
            "n_a": n_a if in_a else pd.NA,
            "n_b": n_b if in_b else pd.NA,
            "matched": pd.NA,
            "missing": pd.NA,
            "extra": pd.NA,
            "mean_iou": np.nan,
            "landmark_px": np.nan,
            "landmark_norm": np.nan,
        }
    matched = len(pairs)
    return {
        "frame": frame,
        "in_a": in_a,
        "in_b": in_b,
        "n_a": n_a,
        "n_b": n_b,
        "matched": matched,
        "missing": n_a - matched,
        "extra": n_b - matched,
        "mean_iou": pairs["iou"].mean() if matched else np.nan,
        "landmark_px": pairs["landmark_px"].mean() if matched else np.nan,
        "landmark_norm": pairs["landmark_norm"].mean() if matched else np.nan,
    }
