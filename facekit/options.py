"""DetectOptions: every option of :func:`facekit.detect`, validated once, frozen.

``fk.detect(source, confidence=0.7, ...)`` builds one; the command line, batches, the server
and the widgets build one and pass it along, so an option is spelled, defaulted and checked
in exactly one place. Settings a deployment makes by environment (precision, aspect, threads)
are read by :mod:`facekit.settings` when the detector is chosen, not here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .engine import ASPECTS
from .errors import InvalidInputError
from .limits import Limits
from .variants import PRECISIONS as VARIANT_PRECISIONS

__all__ = ["DEFAULT_FLOOR", "DEFAULT_NUM_FRAMES", "DetectOptions"]

DEFAULT_FLOOR = 0.05
"""Candidates are kept down to this score, so ``Result.filter`` can lower the threshold that far."""

DEFAULT_NUM_FRAMES = 5
"""Frames sampled from a video when neither ``num_frames``, ``every_frame`` nor ``frames`` is given."""

MAX_NUM_FRAMES = 100

PRECISIONS: tuple[str, ...] = ("auto", *VARIANT_PRECISIONS)


@dataclass(frozen=True)
class DetectOptions:
    """How to detect: threshold, which video frames, crops, model and speed settings.

    ``num_frames``, ``every_frame`` and ``frames`` are three ways to choose a video's frames;
    give at most one. ``None`` for ``precision``, ``aspect``, ``threads``, ``spinning`` and
    ``limits`` means "the ``FACEKIT_*`` setting, else facekit's default".
    """

    confidence: float = 0.5
    num_frames: int | None = None
    every_frame: bool = False
    frames: Sequence[int] | None = None  # stored as a sorted tuple
    single_face: bool = False
    crops: bool = False
    crops_dir: Path | None = None
    model: str | Path | None = None
    limits: Limits | None = None
    threads: int | None = None
    spinning: bool | None = None
    precision: str | None = None
    aspect: str | None = None
    floor: float = DEFAULT_FLOOR
    progress: bool | None = None
    snap_to_keyframes: bool = False

    def __post_init__(self) -> None:
        _number(self.confidence, "confidence", 0.0, 1.0)
        _number(self.floor, "floor", 0.0, 1.0, low_open=True)
        if self.num_frames is not None:
            _whole(self.num_frames, "num_frames", 1, MAX_NUM_FRAMES)
        for name in ("every_frame", "single_face", "crops", "snap_to_keyframes"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InvalidInputError(f"{name} must be True or False, got {getattr(self, name)!r}")
        for name in ("spinning", "progress"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InvalidInputError(f"{name} must be True, False or None, got {getattr(self, name)!r}")
        chosen = [
            n
            for n, given in (
                ("num_frames", self.num_frames is not None),
                ("every_frame", self.every_frame),
                ("frames", self.frames is not None),
            )
            if given
        ]
        if len(chosen) > 1:
            raise InvalidInputError(f"give one of num_frames, every_frame and frames, not {' and '.join(chosen)}")
        if self.frames is not None:
            object.__setattr__(self, "frames", _frame_list(self.frames))
        if self.crops_dir is not None:
            object.__setattr__(self, "crops_dir", Path(self.crops_dir))
        if self.threads is not None:
            _whole(self.threads, "threads", 1, 1024)
        if self.precision is not None and self.precision not in PRECISIONS:
            raise InvalidInputError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.aspect is not None and self.aspect not in ASPECTS:
            raise InvalidInputError(f"aspect must be one of {', '.join(ASPECTS)}, got {self.aspect!r}")
        if self.limits is not None and not isinstance(self.limits, Limits):
            raise InvalidInputError(f"limits must be a facekit.Limits, got {type(self.limits).__name__}")
        if self.model is not None and not isinstance(self.model, (str, os.PathLike)):
            raise InvalidInputError(f"model must be a path, got {type(self.model).__name__}")

    @classmethod
    def of(cls, options: DetectOptions | None = None, **changes: Any) -> DetectOptions:
        """``options`` (default: all defaults) with ``changes``; an unknown name is refused."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InvalidInputError(f"unknown detect option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        base = options if options is not None else cls()
        return dataclasses.replace(base, **changes) if changes else base

    @property
    def sample_count(self) -> int:
        """Frames sampled from a video when neither ``every_frame`` nor ``frames`` is set."""
        return DEFAULT_NUM_FRAMES if self.num_frames is None else self.num_frames

    def canonical(self) -> dict[str, Any]:
        """The options as a dict in which equal requests are equal: the default sample count is
        spelled out (a batch keys its results on this)."""
        sampled = not self.every_frame and self.frames is None
        return {**self.as_dict(), "num_frames": self.sample_count if sampled else None}

    def resolved_limits(self) -> Limits:
        """The limits given, else those of the ``FACEKIT_*`` settings."""
        return self.limits if self.limits is not None else Limits.from_env()

    def as_dict(self) -> dict[str, Any]:
        """The options as a plain dict (for keys, logs and ``fk.detect(**options.as_dict())``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _number(value: Any, name: str, low: float, high: float, *, low_open: bool = False) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not (low < value <= high if low_open else low <= value <= high):
        bounds = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
        raise InvalidInputError(f"{name} must be a number in {bounds}, got {value!r}")


def _whole(value: Any, name: str, low: int, high: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInputError(f"{name} must be an integer from {low} to {high}, got {value!r}")


def _frame_list(frames: Any) -> tuple[int, ...]:
    """``frames`` as sorted distinct non-negative indices; bounds against the video are checked later."""
    try:
        given = list(frames)
    except TypeError:
        raise InvalidInputError(f"frames must be a list of frame indices, got {frames!r}") from None
    bad = [i for i in given if not isinstance(i, (int, np.integer)) or isinstance(i, bool) or i < 0]
    if bad or not given:
        raise InvalidInputError(f"frames must be distinct integer indices >= 0; not valid: {bad[:5]!r}")
    indices = sorted({int(i) for i in given})
    if len(indices) != len(given):
        twice = next(i for i in indices if sum(1 for g in given if g == i) > 1)
        raise InvalidInputError(f"frames must be distinct indices; {twice} is listed twice")
    return tuple(indices)
