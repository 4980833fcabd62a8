"""``df.faces``: the face-table verbs on any DataFrame shaped like ``Result.to_frame()``.

Registered when facekit is imported, so a table read back from Parquet or CSV, filtered or
concatenated by hand, still plots, summarises and converts like a Result's own table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidInputError
from .media.sources import SourceLike
from .plot.namespace import PlotAliases, PlotData, Plots
from .result import Result
from .table import BOX_COLUMNS, REMOVED_DTYPES, analysed_frames, media_of, track_summary, typed

__all__ = ["REQUIRED_COLUMNS", "FacesAccessor"]

REQUIRED_COLUMNS = ("frame", *BOX_COLUMNS)
"""Enough for every verb: a boxes-only table (ground truth, say) works; ``time``, ``score``,
``track_id`` and landmarks are unknown where missing."""


@pd.api.extensions.register_dataframe_accessor("faces")
class FacesAccessor(PlotAliases):
    """Face-table verbs: ``df.faces.filter(confidence=0.7)``, ``df.faces.tracks()``, ``df.faces.overlay(img)``."""

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise AttributeError(f"df.faces needs a face table (Result.to_frame()); missing columns {missing}")
        self._df = _completed(frame)

    # -- tables --------------------------------------------------------------------------------

    @property
    def _is_removed(self) -> np.ndarray:
        if "removed" not in self._df:
            return np.zeros(len(self._df), bool)
        return self._df["removed"].to_numpy(bool)

    def faces(self) -> pd.DataFrame:
        """The face rows, without the ``removed`` rows of ``to_frame(removed=True)``."""
        return self._df[~self._is_removed]

    def removed(self) -> pd.DataFrame:
        """The ``removed`` rows (boxes of faces that left the picture), as ``Result.removed()`` shapes them."""
        return typed(self._df[self._is_removed], REMOVED_DTYPES)

    def frames(self) -> pd.DataFrame:
        """The analysed frames (``frame``, ``time``), including frames without faces when known."""
        return analysed_frames(self._df)

    def filter(self, confidence: float | None = None, *, min_size: float | None = None) -> pd.DataFrame:
        """Rows scoring at least ``confidence`` (unknown scores kept) whose box is at least
        ``min_size`` pixels on its shorter side; ``removed`` rows are kept. Track ids are not
        recomputed: use ``Result.filter`` for that."""
        keep = np.ones(len(self._df), bool)
        if confidence is not None:
            if not 0.0 <= confidence <= 1.0:
                raise InvalidInputError(f"confidence must be between 0 and 1, got {confidence}")
            score = self._df["score"].to_numpy(np.float64, na_value=np.nan)
            keep &= ~(score < confidence)  # NaN (unknown) compares False: kept
        if min_size is not None:
            if min_size < 0:
                raise InvalidInputError(f"min_size must be >= 0, got {min_size}")
            side = np.minimum(self._df["w"].to_numpy(np.float64), self._df["h"].to_numpy(np.float64))
            keep &= ~(side < min_size)
        return self._df[keep | self._is_removed]

    def tracks(self) -> pd.DataFrame:
        """One row per track (``Result.tracks()`` columns), from the rows of this table."""
        return track_summary(self._df, self.frames())

    def to_result(self) -> Result:
        """A :class:`facekit.Result` of this table (all rows kept, track ids as given)."""
        frames = self.frames()
        return Result(
            self.faces().drop(columns=["face", "removed"], errors="ignore"),
            frames,
            {"source": "DataFrame", "media": media_of(frames["time"].to_numpy(np.float64))},
            confidence=0.0,
            removed=self.removed(),
        )

    def to_faces_obj(self) -> dict[str, dict[str, Any]]:
        """Akool's ``faces_obj`` (with ``scores`` and ``track_ids``) of this table: the inverse of
        ``Result.from_akool(faces_obj).to_frame(removed=True)``."""
        return self.to_result().faces_obj

    # -- plots ---------------------------------------------------------------------------------

    @property
    def plot(self) -> Plots:
        """The same plots as ``result.plot``: ``df.faces.plot(frame=N, source=video)`` draws the
        overlay, ``df.faces.plot.tracks()``, ``.timeline()``, ``.counts()``, ... the other views."""
        return Plots(
            PlotData(
                table=lambda: self._df,
                frames=self.frames,
                pictures=lambda source: source,
                scores=lambda: self.faces()["score"].to_numpy(np.float64, na_value=np.nan),
            )
        )

    def overlay(
        self, image_or_video: SourceLike | np.ndarray, frame: int | None = None, *, ax: Any = None, **style: Any
    ) -> Any:
        """Draw the faces (and removed boxes) of ``frame`` over that frame of a picture or video."""
        if frame is None:
            frame = int(self._df["frame"].min()) if len(self._df) else 0
        return self.plot(frame, source=image_or_video, ax=ax, **style)


def _completed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns a face table may lack (time, score, track_id, face) as unknowns."""
    missing: dict[str, Any] = {
        "time": np.nan,
        "score": np.nan,
        "track_id": pd.array([pd.NA] * len(frame), dtype="Int64"),
    }
    added = {name: value for name, value in missing.items() if name not in frame.columns}
    if "face" not in frame.columns:
        added["face"] = frame.groupby("frame", sort=False).cumcount().to_numpy(np.int64)
    if not added:
        return frame
    completed = frame.assign(**added)
    completed.attrs = frame.attrs
    return completed
