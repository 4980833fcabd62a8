"""``facekit.detect``: source -> media -> detector -> Result, for any source a user may pass."""

from __future__ import annotations

import math
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from . import __version__, models, variants
from .crops import write_crops
from .engine import ASPECTS, Detections, Detector
from .errors import InvalidInputError
from .table import BOX_COLUMNS, CROP_COLUMNS, LANDMARK_COLUMNS
from .limits import Limits
from .media import Picture, Video, decode, picture_from_pixels, read_source
from .media.sources import SourceLike
from .result import Result
from .schema import six_landmarks

Columns = dict[str, np.ndarray]  # column name -> values: a face table before it becomes a Result

DEFAULT_FLOOR = 0.05
"""Candidates are kept down to this score, so ``Result.filter`` can lower the threshold that far."""

DEFAULT_PRECISION = "auto"
"""int8 for the default model, which passes the fidelity gate (tests/test_fidelity.py) on data it
was not calibrated on at about twice FP32's speed (see :func:`facekit.variants.auto_precision`);
``precision="fp32"`` gives InsightFace's own boxes (within 0.5 px)."""

DEFAULT_ASPECT = "square"
""""native" misses the 1 px bar against InsightFace's letterbox on the pan video (1.5 px, one extra
borderline face), so it stays an option (tests/test_fidelity.py)."""


def detect(
    source: SourceLike,
    *,
    confidence: float = 0.5,
    num_frames: int = 5,
    every_frame: bool = False,
    single_face: bool = False,
    crops: bool = False,
    crops_dir: str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
    threads: int | None = None,
    spinning: bool | None = None,
    precision: str | None = None,
    aspect: str | None = None,
    floor: float = DEFAULT_FLOOR,
    progress: bool | None = None,
    snap_to_keyframes: bool = False,
    frames: Sequence[int] | None = None,
) -> Result:
    """Detect faces in a picture or video and return a :class:`~facekit.Result`.

    ``source`` is a path, an http(s) URL, a base64 string or ``data:`` URI, bytes, an H x W x 3
    RGB uint8 array or a PIL image; images and videos (animated GIFs too) are told apart by
    content. Faces scoring below ``confidence`` are dropped from the renderings but kept (down to
    ``floor``) so that ``result.filter(confidence=...)`` never needs the model again. ``crops``
    writes one JPEG per face into ``crops_dir`` (default: a new folder under the facekit cache).

    Videos: ``num_frames`` frames spread evenly over the duration are analysed (each reached by
    seeking; ``snap_to_keyframes`` moves them to the nearest keyframes, faster but inexact), or
    every frame with ``every_frame``, streamed with a progress bar (``progress``: None shows it
    when interactive). ``frames`` names the exact frame indices to analyse instead (for callers
    that cache frames, such as the FrameExplorer widget). Faces are tracked across the analysed frames.

    Speed: ``precision`` "auto", "int8" or "fp32" (default ``FACEKIT_PRECISION``, else auto: int8
    for the default model, FP32 for others) and ``aspect``
    "square" (InsightFace's 640 x 640 letterbox) or "native" (an input of the picture's own
    shape; default ``FACEKIT_ASPECT``, else square) pick a model variant derived locally from the original
    (:mod:`facekit.variants`); ``threads`` and ``spinning`` (onnxruntime's busy-waiting; default
    ``FACEKIT_THREADS``, ``FACEKIT_SPINNING``) tune the session.
    """
    _check_options(confidence, num_frames, floor)
    limits = limits or Limits.from_env()
    started = time.perf_counter()
    resolved, variant, aspect = resolve_variant(model, precision, aspect)
    detector = Detector.load(variant.path, threads, spinning, aspect)
    loaded = read_source(source, limits)
    read_done = time.perf_counter()
    media = picture_from_pixels(loaded.pixels, limits) if loaded.pixels is not None else decode(loaded.data, limits)
    decoded = time.perf_counter()
    floor = min(floor, confidence)
    crop = None
    if crops:
        directory = Path(crops_dir) if crops_dir is not None else models.home() / "crops" / uuid.uuid4().hex
        stem = Path(loaded.description).stem if loaded.data is not None else "face"
        crop = _Crops(directory, stem, confidence)
    if isinstance(media, Video):
        if frames is not None:
            indices = _checked_frames(frames, media.frame_count)
        else:
            indices = None if every_frame else media.sample_indices(num_frames, snap=snap_to_keyframes)
        show = _interactive() if progress is None else progress
        candidates, frames, picture, seen = _analyse_video(media, indices, detector, floor, crop, show)
    else:
        if frames is not None:
            _checked_frames(frames, 1)
        candidates, frames, picture, seen = _analyse_picture(media, detector, floor, crop)
    timings = seen.pop("timings_ms")
    meta = {
        "source": loaded.description,
        **seen,
        "model": resolved.name,
        "model_sha256": resolved.sha256,
        "model_source": resolved.source,
        "precision": variant.precision,
        "aspect": aspect,
        "variant": variant.kind,
        "variant_sha256": variant.sha256,
        "input_size": list(detector.input_size_for(seen["width"], seen["height"])),
        "providers": detector.providers,
        "threads": detector.threads,
        "spinning": detector.spinning,
        "facekit": __version__,
        "timings_ms": {
            "read": _ms(started, read_done),
            "decode" if isinstance(media, Picture) else "index": _ms(read_done, decoded),
            **timings,
            "total": _ms(started, time.perf_counter()),
        },
    }
    return Result(
        candidates, frames, meta, confidence=confidence, single_face=single_face, floor=floor, picture=picture
    )


def resolve_variant(
    model: str | os.PathLike[str] | None = None, precision: str | None = None, aspect: str | None = None
) -> tuple[models.ModelInfo, variants.Variant, str]:
    """The model, the variant of it that runs and the input aspect, once the arguments, the
    FACEKIT_PRECISION / FACEKIT_ASPECT settings and "auto" have been applied (batches key on it)."""
    resolved = models.resolve(model)
    precision = _setting(precision, "FACEKIT_PRECISION", DEFAULT_PRECISION, ("auto", *variants.PRECISIONS), "precision")
    precision = variants.auto_precision(resolved) if precision == "auto" else precision
    aspect = _setting(aspect, "FACEKIT_ASPECT", DEFAULT_ASPECT, ASPECTS, "aspect")
    return resolved, variants.choose(resolved, precision, aspect), aspect


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1e3, 3)


def _setting(value: str | None, env: str, default: str, allowed: Sequence[str], name: str) -> str:
    """``value``, else the ``env`` variable, else ``default``; refused unless one of ``allowed``."""
    chosen = value if value is not None else (os.environ.get(env) or default)
    if chosen not in allowed:
        source = name if value is not None else env
        raise InvalidInputError(f"{source} must be one of {', '.join(allowed)}, got {chosen!r}")
    return chosen


def _check_options(confidence: float, num_frames: int, floor: float) -> None:
    if not isinstance(confidence, (int, float)) or not 0.0 <= confidence <= 1.0:
        raise InvalidInputError(f"confidence must be a number between 0 and 1, got {confidence!r}")
    if not isinstance(num_frames, int) or isinstance(num_frames, bool) or not 1 <= num_frames <= 100:
        raise InvalidInputError(f"num_frames must be an integer from 1 to 100, got {num_frames!r}")
    if not 0.0 < floor <= 1.0:
        raise InvalidInputError(f"floor must be in (0, 1], got {floor!r}")


def _checked_frames(frames: Sequence[int], frame_count: int) -> list[int]:
    """``frames`` as sorted indices, refused unless they are distinct integers within ``frame_count``."""
    given = list(frames)
    integers = all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in given)
    indices = sorted({int(i) for i in given}) if integers else []
    if not indices or len(indices) != len(given) or indices[0] < 0 or indices[-1] >= frame_count:
        raise InvalidInputError(
            f"frames must be distinct integer indices from 0 to {frame_count - 1}, got {given[:10]!r}"
        )
    return indices


@dataclass(frozen=True)
class _Crops:
    """Where and for which faces crops are written."""

    directory: Path
    stem: str
    confidence: float

    def add(self, columns: Columns, pixels: np.ndarray) -> Columns:
        """``columns`` (one frame's candidates) with crop columns for its faces at or above the threshold."""
        chosen = columns["score"] >= self.confidence
        faces = pd.DataFrame({name: columns[name][chosen] for name in ("frame", *BOX_COLUMNS)})
        written = write_crops(pixels, faces, self.directory, self.stem)
        out = dict(columns)
        out["crop_url"] = np.full(chosen.size, None, dtype=object)
        out["crop_url"][chosen] = written["crop_url"].to_numpy(object)
        for name in CROP_COLUMNS[1:]:
            out[name] = np.full(chosen.size, np.nan)
            out[name][chosen] = written[name].to_numpy(np.float64)
        return out


def _analyse_picture(picture: Picture, detector: Detector, floor: float, crop: _Crops | None):
    """Candidates, frames table, picture to plot and meta of one still picture."""
    began = time.perf_counter()
    candidates = face_columns(detector.detect(picture.pixels, floor), frame=0, time=math.nan)
    detected = time.perf_counter()
    if crop is not None:
        candidates = crop.add(candidates, picture.rgb())
    frames = pd.DataFrame({"frame": [0], "time": [math.nan]})
    seen = {
        "media": "image",
        "format": picture.format,
        "width": picture.width,
        "height": picture.height,
        "fps": None,
        "frame_count": 1,
        "timings_ms": {"detect": _ms(began, detected)},
    }
    return candidates, frames, picture.pixels, seen


def _analyse_video(
    video: Video, indices: list[int] | None, detector: Detector, floor: float, crop: _Crops | None, progress: bool
):
    """Detect in the sampled frames (``indices``) or every frame (None) as they are decoded ahead."""
    began = time.perf_counter()
    frames = video.stream() if indices is None else video.sample(indices)
    total = video.frame_count if indices is None else len(indices)
    tables, rows, picture, detecting = [], [], None, 0.0
    with _progress_bar(total, progress) as bar:
        for frame in frames:
            tick = time.perf_counter()
            found = detector.detect(frame.pixels, floor)
            detecting += time.perf_counter() - tick
            table = face_columns(found, frame=frame.index, time=frame.time)
            if crop is not None:
                table = crop.add(table, frame.pixels)
            if picture is None:
                picture = frame.pixels  # the first frame, drawn under result.plot()
            tables.append(table)
            rows.append((frame.index, frame.time))
            bar.update()
    seen = {
        "media": "video",
        "format": video.format,
        "codec": video.codec,
        "width": video.width,
        "height": video.height,
        "fps": video.fps,
        "frame_count": video.frame_count,
        "duration": video.duration,
        "rotation": video.rotation,
        "frames_analysed": len(rows),
        "frames_decoded": video.decoded,
        "timings_ms": {"detect": round(detecting * 1e3, 3), "analyse": _ms(began, time.perf_counter())},
    }
    frames_table = pd.DataFrame(rows, columns=["frame", "time"])
    return _concat(tables), frames_table, picture, seen


def _progress_bar(total: int, show: bool):
    """A tqdm bar (notebook-aware) of frames done and frames per second; tqdm's own no-op when off."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="frame", desc="facekit", disable=not show)


def _interactive() -> bool:
    """True in an IPython or Jupyter session, or when stderr is a terminal."""
    ipython = sys.modules.get("IPython")
    if ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None:
        return True
    return sys.stderr.isatty()


def face_columns(detections: Detections, *, frame: int, time: float) -> Columns:
    """Detections of one frame as numpy columns of the canonical face table (best score first).

    Plain arrays, not a DataFrame: a video makes one of these per frame, and pandas would cost
    more per frame than the rest of the work around the model.
    """
    count = len(detections)
    boxes = detections.boxes.astype(np.float64)
    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
    points = six_landmarks(detections.keypoints.astype(np.float64)).reshape(count, len(LANDMARK_COLUMNS))
    columns = {
        "frame": np.full(count, frame, dtype=np.int64),
        "time": np.full(count, time, dtype=np.float64),
        "score": detections.scores.astype(np.float64),
    }
    columns.update(zip(BOX_COLUMNS + LANDMARK_COLUMNS, np.hstack([xywh, points]).T))
    return columns


def _concat(tables: list[Columns]) -> Columns:
    """One table from per-frame columns."""
    if not tables:
        return face_columns(Detections.empty(), frame=0, time=math.nan)
    return {name: np.concatenate([table[name] for table in tables]) for name in tables[0]}
