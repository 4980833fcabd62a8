"""Result: the faces found in one picture or video, and every way to look at them.

A Result is a small object over three parts: the canonical :class:`~facekit.table.FaceTable`
of every candidate down to the floor threshold, the selection settings (``confidence``,
``single_face``) and the typed run metadata. What a user sees is derived from them:
:mod:`facekit.selection` picks and tracks the kept faces, :mod:`facekit.akool` renders
``faces_obj`` and Akool's response, :mod:`facekit.io` writes files, :mod:`facekit.plot` draws.
``filter`` makes a new Result over the same table; nothing is ever changed in place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from . import akool, io
from .errors import InvalidInputError
from .meta import RunMeta
from .plot.namespace import PlotAliases, PlotData, Plots
from .selection import Selection, select
from .table import FRAMES_ATTR, FaceTable, TableLike, frame_of, track_summary, with_removed

__all__ = ["Result", "load"]


class Result(PlotAliases):
    """Faces found in one image or video: Akool ``faces_obj``, DataFrames, plots and files.

    Build one with :func:`facekit.detect`, :meth:`from_akool`, :func:`facekit.load`,
    :meth:`concat` or from tables (``Result(candidates, frames, meta, confidence=...)``; only
    ``frame`` and ``x, y, w, h`` are required, so boxes-only tables work too).
    """

    def __init__(
        self,
        candidates: TableLike,
        frames: TableLike | None = None,
        meta: Mapping[str, Any] | RunMeta | None = None,
        *,
        confidence: float = 0.0,
        single_face: bool = False,
        floor: float = 0.0,
        removed: pd.DataFrame | None = None,
        picture: np.ndarray | None = None,
    ) -> None:
        table = FaceTable.build(candidates, frames, removed=removed)
        self._init(table, meta, confidence=confidence, single_face=single_face, floor=floor, picture=picture)

    @classmethod
    def from_table(
        cls,
        table: FaceTable,
        meta: Mapping[str, Any] | RunMeta | None = None,
        *,
        confidence: float = 0.0,
        single_face: bool = False,
        floor: float = 0.0,
        picture: np.ndarray | None = None,
    ) -> Result:
        """A Result over an already built table (the pipeline's, a file's, an Akool answer's)."""
        result = cls.__new__(cls)
        result._init(table, meta, confidence=confidence, single_face=single_face, floor=floor, picture=picture)
        return result

    def _init(
        self,
        table: FaceTable,
        meta: Mapping[str, Any] | RunMeta | None,
        *,
        confidence: float,
        single_face: bool,
        floor: float,
        picture: np.ndarray | None,
    ) -> None:
        _check_confidence(confidence, floor)
        self.table = table
        self.confidence = float(confidence)
        self.single_face = bool(single_face)
        self.floor = float(floor)
        self.run = meta if isinstance(meta, RunMeta) else RunMeta.from_dict(meta or {})
        self._picture = picture

    # -- what is selected ----------------------------------------------------------------------

    @cached_property
    def _selection(self) -> Selection:
        return select(self.table, self.confidence, self.single_face)

    @property
    def meta(self) -> Mapping[str, Any]:
        """Run metadata (source, media, size, fps, model, variant, service, timings) and the
        selection settings, read-only; ``result.run`` is the same as a typed object."""
        values = self.run.as_dict()
        values.update(confidence=self.confidence, single_face=self.single_face, floor=self.floor)
        return MappingProxyType(values)

    @property
    def has_crops(self) -> bool:
        return self.table.has_crops

    @property
    def is_video(self) -> bool:
        return self.run.media == "video"

    @property
    def frames(self) -> list[int]:
        """Indices of the analysed frames, in order."""
        return self.table.frame_index.tolist()

    def frames_table(self) -> pd.DataFrame:
        """The analysed frames (``frame``, ``time`` in seconds; NaN for pictures), in order."""
        return self.table.frames()

    def __len__(self) -> int:
        """Number of faces kept, over all frames."""
        return len(self._selection)

    def __repr__(self) -> str:
        return (
            f"<facekit.Result {self.run.media} {self.run.source!r}: "
            f"{len(self)} faces in {self.table.frame_index.size} frame(s) at confidence {self.confidence}>"
        )

    # -- tables --------------------------------------------------------------------------------

    def to_frame(self, *, removed: bool = False) -> pd.DataFrame:
        """One row per kept face per frame, with the columns and dtypes of :mod:`facekit.table`.

        With ``removed``, the boxes of faces that left the picture are added as rows flagged in a
        ``removed`` column (``face`` is then nullable, NA on those rows). The analysed frames,
        including frames without faces, ride along in ``attrs`` for ``df.faces.to_faces_obj()``.
        """
        faces = frame_of(self._selection.kept)
        if removed:
            faces = with_removed(faces, self._selection.removed, self.frames_table())
        faces.attrs[FRAMES_ATTR] = {"frame": self.frames, "time": self.table.frame_time.tolist()}
        return faces

    def candidates(self) -> pd.DataFrame:
        """Every candidate down to the floor threshold, kept or not; ``track_id`` only where the source gave one."""
        return self.table.to_frame()

    def removed(self) -> pd.DataFrame:
        """Per frame, the last boxes of tracks that have left (see the README for the rule)."""
        return self._selection.removed.copy()

    def tracks(self) -> pd.DataFrame:
        """One row per track: first/last frame and time, frames seen, gaps, score and size statistics."""
        return track_summary(self.to_frame(), self.frames_table())

    # -- Akool ---------------------------------------------------------------------------------

    @property
    def faces_obj(self) -> dict[str, dict[str, Any]]:
        """Akool's ``faces_obj`` at full precision, plus ``scores`` and ``track_ids`` beside ``region``
        and ``removed_track_ids`` beside ``removed``."""
        return akool.faces_obj(self._selection, self.table)

    def to_akool(self) -> dict[str, Any]:
        """Exactly Akool's FaceDetectionResponse: integer pixels, no extension keys (refused for
        crop-only answers, whose faces have no box)."""
        return akool.response(self._selection, self.table, self.run.service)

    @classmethod
    def from_akool(cls, obj: dict[str, Any] | str) -> Result:
        """A Result from any Akool answer (``{error_code, error_msg, faces_obj}``) or a bare ``faces_obj``."""
        answer = akool.parse(obj)
        return cls.from_table(answer.table, answer.meta)

    # -- derived results -----------------------------------------------------------------------

    def filter(self, confidence: float | None = None, *, single_face: bool | None = None) -> Result:
        """The same detections at another threshold (or single-face mode), without running the model."""
        return Result.from_table(
            self.table,
            self.run,
            confidence=self.confidence if confidence is None else float(confidence),
            single_face=self.single_face if single_face is None else bool(single_face),
            floor=self.floor,
            picture=self._picture,
        )

    def with_meta(self, **changes: Any) -> Result:
        """The same result with some run metadata changed (a client naming its service, say)."""
        return Result.from_table(
            self.table,
            self.run.replace(**changes),
            confidence=self.confidence,
            single_face=self.single_face,
            floor=self.floor,
            picture=self._picture,
        )

    @classmethod
    def concat(cls, results: Sequence[Result], *, confidence: float | None = None) -> Result:
        """One Result from Results of distinct frames of the same media (frames analysed in
        several passes): the tables are joined and tracked as one, at ``confidence`` (default:
        the first result's), with the first result's metadata and the highest of their floors (the
        lowest threshold every part can still answer exactly)."""
        if not results:
            raise InvalidInputError("concat needs at least one Result")
        first = results[0]
        table = FaceTable.concat([r.table for r in results])
        meta = first.run.replace(frames_analysed=int(table.frame_index.size))
        return cls.from_table(
            table,
            meta,
            confidence=first.confidence if confidence is None else confidence,
            single_face=first.single_face,
            floor=max(r.floor for r in results),
            picture=first._picture if table.frame_index.size and table.frame_index[0] == first.frames[0] else None,
        )

    # -- pixels and plots ----------------------------------------------------------------------

    def pixels(self, frame: int | None = None, source: Any = None) -> np.ndarray | None:
        """RGB pixels of an analysed frame (default the first): decoded from ``source``, default
        the file this result came from; None when neither is at hand (an array or URL input)."""
        frame = self.frames[0] if frame is None and self.frames else (frame or 0)
        if source is None and self._picture is not None and self.frames and frame == self.frames[0]:
            return self._picture
        source = source if source is not None else self.source_file
        if source is None:
            return None
        from .media import frame_pixels  # deferred: media is not needed to read or render results

        return frame_pixels(source, frame)

    def _pictures(self, source: Any = None) -> Any:
        """What the plots take pixels from: ``source``, else this result's file, else the picture
        it holds (its first frame); None when there is nothing."""
        if source is not None:
            return source
        file = self.source_file
        if file is not None:
            return file
        return {self.frames[0]: self._picture} if self._picture is not None and self.frames else None

    @property
    def source_file(self) -> Path | None:
        """The file this result was detected from, when it is a file here; else None."""
        path = Path(self.run.source) if self.run.source else None
        return path if path is not None and path.is_file() else None

    @property
    def plot(self) -> Plots:
        """Every plot: ``result.plot()`` or ``result.plot(frame=N)`` draws the overlay;
        ``result.plot.tracks()``, ``.timeline()``, ``.gallery()``, ``.trajectories()``,
        ``.counts()``, ``.scores()``, ``.kept()``, ``.contact_sheet()`` the other views."""
        return Plots(
            PlotData(
                table=lambda: self.to_frame(removed=True),
                frames=self.frames_table,
                pictures=self._pictures,
                scores=lambda: self.table.columns["score"],
                confidence=self.confidence,
                size=(self.run.width, self.run.height),
            )
        )

    def plot_scores(self, *, ax: Any = None, bins: int = 20) -> Any:
        """Alias of ``result.plot.scores()``."""
        return self.plot.scores(ax=ax, bins=bins)

    def plot_kept(self, *, ax: Any = None) -> Any:
        """Alias of ``result.plot.kept()``."""
        return self.plot.kept(ax=ax)

    def contact_sheet(self, source: Any = None, *, columns: int | None = None, size: float = 3.0, **style: Any) -> Any:
        """Alias of ``result.plot.contact_sheet()``."""
        return self.plot.contact_sheet(source, columns=columns, size=size, **style)

    # -- video out and notebook display -------------------------------------------------------

    def render(self, path: str | os.PathLike[str], source: Any = None, style: str = "boxes", **options: Any) -> Path:
        """Write the faces drawn on (``style="boxes"``) or hidden in (``"blur"``, ``"pixelate"``,
        ``"mask"``) the source video or picture to ``path``; see :func:`facekit.render.render_video`."""
        from .render import render_video  # deferred: the encoder is only needed to write video

        return render_video(self, path, source=source, style=style, **options)  # type: ignore[arg-type]

    def show(self, **options: Any) -> None:
        """Display this result inline in a notebook: summary, overlay and, for a video, a short clip."""
        from .display import show

        show(self, **options)

    def _repr_html_(self) -> str:
        from .display import result_html

        return result_html(self)

    # -- files ---------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole result (every candidate, frames, meta) as ``.json`` or ``.parquet``."""
        saved = io.Saved(self.table, self.run.as_dict(), self.confidence, self.single_face, self.floor)
        return io.write(path, saved)


def load(path: str | os.PathLike[str]) -> Result:
    """Read a Result written by :meth:`Result.save` (``.json`` or ``.parquet``)."""
    saved = io.read(path)
    return Result.from_table(
        saved.table, saved.meta, confidence=saved.confidence, single_face=saved.single_face, floor=saved.floor
    )


def _check_confidence(confidence: float, floor: float) -> None:
    if not 0.0 <= confidence <= 1.0:
        raise InvalidInputError(f"confidence must be between 0 and 1, got {confidence}")
    if confidence < floor:
        raise InvalidInputError(
            f"confidence {confidence} is below the floor {floor} this result was detected at; "
            f"run detect() again with confidence={confidence}"
        )
