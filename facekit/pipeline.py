"""``facekit.detect``: source -> media -> detector -> tracker -> Result, for any source a user may pass."""

from __future__ import annotations

import math
import os
import sys
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__, models, variants
from .appearance import FEATURE_SIZE, face_features
from .crops import write_crops
from .cuts import SIGNATURE_SIZE, frame_signature
from .engine import Detections, Detector, letterbox, serial_opencv
from .errors import InvalidInputError
from .geometry import xyxy_to_xywh
from .media import Picture, Video, locate, open_media
from .media.sources import SourceLike
from .media.video import IN_FLIGHT, Frame
from .meta import RunMeta
from .options import DEFAULT_FLOOR, DetectOptions
from .result import Result
from .schema import six_landmarks
from .settings import setting
from .table import BOX_COLUMNS, CROP_COLUMNS, LANDMARK_COLUMNS, FaceTable

__all__ = ["DEFAULT_ASPECT", "DEFAULT_FLOOR", "DEFAULT_PRECISION", "detect", "resolve_variant"]

Columns = dict[str, np.ndarray]  # column name -> values: a face table before it becomes a Result

APPEARANCE_FLOOR = 0.3
"""Candidates scoring at least this (or the threshold asked for, if lower) get an appearance
descriptor for the tracker; below it, where almost nothing is a face, tracking uses motion alone."""

DEFAULT_PRECISION = "auto"
"""auto means FP32 for every model (InsightFace's own boxes); int8 is opt-in, since its scores near
the threshold move by up to ~0.05 on unseen footage (see :func:`facekit.variants.auto_precision`)."""

DEFAULT_ASPECT = "square"
""""native" misses the 1 px bar against InsightFace's letterbox on the pan video (1.5 px, one extra
borderline face), so it stays an option (tests/test_fidelity.py)."""


def detect(source: SourceLike, options: DetectOptions | None = None, **changes: Any) -> Result:
    """Detect faces in a picture or video and return a :class:`~facekit.Result`.

    ``source`` is a path, an http(s) URL, a base64 string or ``data:`` URI, bytes, an H x W x 3
    RGB uint8 array or a PIL image; images and videos (animated GIFs too) are told apart by
    content. The options (:class:`~facekit.options.DetectOptions`, or its fields as keywords):

    - ``confidence`` (0.5): faces scoring below it are dropped from the renderings but kept down
      to ``floor`` (0.05), so ``result.filter(confidence=...)`` never needs the model again.
    - videos: ``num_frames`` (5) frames spread evenly over the duration, each reached by seeking
      (``snap_to_keyframes`` moves them to keyframes: faster, inexact); or ``every_frame``,
      streamed with a progress bar (``progress``: None shows it when interactive; Ctrl-C stops
      and keeps the frames done); or ``frames``, exact frame indices. Give one of the three.
    - ``single_face``: only the largest face per frame. ``crops``: one JPEG per face into
      ``crops_dir`` (default: a new folder under the facekit cache).
    - ``model``, ``precision`` ("auto", "int8", "fp32"), ``aspect`` ("square", "native"),
      ``threads``, ``spinning``: which detector and how it runs (defaults from ``FACEKIT_*``).
    - ``limits``: a :class:`~facekit.Limits` (default from ``FACEKIT_*``).
    """
    opts = DetectOptions.of(options, **changes)
    limits = opts.resolved_limits()
    started = time.perf_counter()
    resolved, variant, aspect = resolve_variant(opts.model, opts.precision, opts.aspect)
    detector = Detector.load(variant.path, opts.threads, opts.spinning, aspect)
    loaded = locate(source, limits)
    read_done = time.perf_counter()
    # A large JPEG file may decode at reduced scale, within the fidelity gate; not for the original
    # letterboxed model, which promises InsightFace's own boxes, nor when crops need every pixel.
    reducible = loaded.path is not None and not opts.crops and variant.kind != "original"
    media = open_media(loaded, limits, reduce=_reduce(detector) if reducible else None)
    decoded = time.perf_counter()
    floor = min(opts.floor, opts.confidence)
    crop = None
    if opts.crops:
        directory = opts.crops_dir if opts.crops_dir is not None else models.home() / "crops" / uuid.uuid4().hex
        stem = Path(loaded.description).stem if loaded.encoded else "face"
        crop = _Crops(directory, stem, opts.confidence)
    if isinstance(media, Video):
        indices: list[int] | None
        if opts.frames is not None:
            indices = _checked_frames(opts.frames, media.frame_count)
        else:
            indices = None if opts.every_frame else media.sample_indices(opts.sample_count, snap=opts.snap_to_keyframes)
        show = interactive() if opts.progress is None else opts.progress
        candidates, frames, picture, seen, cues = _analyse_video(
            media, indices, detector, floor, crop, show, opts.confidence
        )
        features, signatures = cues.joined(len(frames))
    else:
        if opts.frames is not None:
            _checked_frames(opts.frames, 1)
        candidates, frames, picture, seen = _analyse_picture(media, detector, floor, crop)
        features = signatures = None
    timings = seen.pop("timings_ms")
    meta = RunMeta(
        source=loaded.description,
        **seen,
        model=resolved.name,
        model_sha256=resolved.sha256,
        model_source=resolved.source,
        precision=variant.precision,
        aspect=aspect,
        variant=variant.kind,
        variant_sha256=variant.sha256,
        input_size=_pair(detector.input_size_for(seen["width"], seen["height"])),
        providers=tuple(detector.providers),
        threads=detector.threads,
        spinning=detector.spinning,
        facekit=__version__,
        timings_ms={
            "read": _ms(started, read_done),
            "decode" if isinstance(media, Picture) else "index": _ms(read_done, decoded),
            **timings,
            "total": _ms(started, time.perf_counter()),
        },
    )
    table = FaceTable.build(candidates, frames, features=features, signatures=signatures)
    return Result.from_table(
        table, meta, confidence=opts.confidence, single_face=opts.single_face, floor=floor, picture=picture
    )


def resolve_variant(
    model: str | os.PathLike[str] | None = None, precision: str | None = None, aspect: str | None = None
) -> tuple[models.ModelInfo, variants.Variant, str]:
    """The model, the variant of it that runs and the input aspect, once the arguments, the
    FACEKIT_PRECISION / FACEKIT_ASPECT settings and "auto" have been applied (batches key on it)."""
    resolved = models.resolve(model)
    chosen = DetectOptions.of(
        precision=precision or setting("PRECISION") or DEFAULT_PRECISION,
        aspect=aspect or setting("ASPECT") or DEFAULT_ASPECT,
    )
    assert chosen.precision is not None and chosen.aspect is not None  # set just above
    precision = variants.auto_precision(resolved) if chosen.precision == "auto" else chosen.precision
    return resolved, variants.choose(resolved, precision, chosen.aspect), chosen.aspect


def _pair(size: Any) -> tuple[int, int]:
    width, height = size
    return int(width), int(height)


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1e3, 3)


def _checked_frames(frames: Sequence[int], frame_count: int) -> list[int]:
    """``frames`` (sorted, distinct, validated by DetectOptions), refused if any is past the last frame."""
    outside = [i for i in frames if i >= frame_count]
    if outside:
        raise InvalidInputError(
            f"frames must be indices from 0 to {frame_count - 1}; index {outside[0]} is outside the video's "
            f"{frame_count} frame(s)" + (f"; {len(outside)} indices in all are outside" if len(outside) > 1 else "")
        )
    return list(frames)


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


def _reduce(detector: Detector) -> Callable[[int, int], tuple[int, int]]:
    """The least size a picture must keep for ``detector``: twice its letterbox, so a large JPEG
    may decode at reduced scale and still be shrunk (never enlarged) into the model's input."""
    return lambda width, height: tuple(2 * side for side in letterbox(width, height, detector.input_size))  # type: ignore[return-value]


def _analyse_picture(picture: Picture, detector: Detector, floor: float, crop: _Crops | None):
    """Candidates, frames table, picture to plot and meta of one still picture (in the stored
    picture's pixels when it was decoded reduced; it is decoded again from its file to be drawn)."""
    began = time.perf_counter()
    candidates = face_columns(detector.detect(picture.pixels, floor).scaled(*picture.reduction), frame=0, time=math.nan)
    detected = time.perf_counter()
    if crop is not None:
        candidates = crop.add(candidates, picture.rgb())
    frames = pd.DataFrame({"frame": [0], "time": [math.nan]})
    seen = {
        "media": "image",
        "format": picture.format,
        "width": picture.stored[0] if picture.stored else picture.width,
        "height": picture.stored[1] if picture.stored else picture.height,
        "fps": None,
        "frame_count": 1,
        "timings_ms": {"detect": _ms(began, detected)},
    }
    return candidates, frames, None if picture.stored else picture.pixels, seen


def _analyse_video(
    video: Video,
    indices: list[int] | None,
    detector: Detector,
    floor: float,
    crop: _Crops | None,
    progress: bool,
    cue_floor: float,
):
    """Detect in the sampled frames (``indices``) or every frame (None) as they are decoded ahead,
    with the tracker's cues for candidates scoring at least ``cue_floor`` (or APPEARANCE_FLOOR)."""
    began = time.perf_counter()
    # The decoding thread letterboxes each frame into the model's input as well (the blobs rotate:
    # see Detector.preparer), and a second thread reads the model's outputs and takes the tracker's
    # cues, so this thread only runs the model, back to back.
    prepare = detector.preparer(IN_FLIGHT + 1)
    frames = video.stream(prepare) if indices is None else video.sample(indices, prepare)
    total = video.frame_count if indices is None else len(indices)
    # Per frame only the detector's float32 arrays are kept (~60 bytes a candidate); the float64
    # columns are made once at the end, so memory grows by little more than that per frame.
    found_per_frame: list[Detections] = []
    cropped: list[Columns] = []
    rows: list[tuple[int, float]] = []
    picture, detecting = None, 0.0
    cues = _Cues(min(cue_floor, APPEARANCE_FLOOR))
    pending: deque[tuple[Frame, Future]] = deque()

    def finish(outputs: list[np.ndarray], scale: float, size: tuple[int, int], frame: Frame):
        """One frame's candidates (or crop columns) and cues, from the model's outputs (post thread)."""
        found = detector.decode(outputs, floor, scale, size)
        measured = cues.measure(found, frame.pixels)
        if crop is None:
            return found, measured
        return crop.add(face_columns(found, frame=frame.index, time=frame.time), frame.pixels), measured

    def collect(left: int) -> None:
        """Keep the results of the finished frames, in order, until ``left`` are pending."""
        nonlocal picture
        while len(pending) > left:
            frame, done = pending[0]
            made, measured = done.result()
            pending.popleft()
            (found_per_frame if crop is None else cropped).append(made)
            cues.add(*measured)
            if picture is None:
                picture = frame.pixels  # the first frame, drawn under result.plot()
            rows.append((frame.index, frame.time))
            bar.update()

    with (
        serial_opencv(),
        _progress_bar(total, progress) as bar,
        ThreadPoolExecutor(1, thread_name_prefix="facekit-post") as post,
    ):
        try:
            for frame in frames:
                tick = time.perf_counter()
                blob, scale = frame.prepared
                outputs = detector.infer(blob)
                detecting += time.perf_counter() - tick
                pending.append((frame, post.submit(finish, outputs, scale, (blob.shape[3], blob.shape[2]), frame)))
                collect(1)
            collect(0)
        except KeyboardInterrupt:  # Ctrl-C, or Kernel -> Interrupt: keep the frames done
            _close(frames)
            collect(0)
            warnings.warn(
                f"interrupted after {len(rows)} of {total} frames (last analysed: "
                f"{rows[-1][0] if rows else 'none'}); the result holds the frames analysed so far",
                stacklevel=3,
            )
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
    if crop is not None:
        return _concat(cropped), frames_table, picture, seen, cues
    counts = [len(found) for found in found_per_frame]
    joined = Detections.concat(found_per_frame)
    found_per_frame.clear()
    candidates = face_columns(
        joined,
        frame=np.repeat(frames_table["frame"].to_numpy(np.int64), counts),
        time=np.repeat(frames_table["time"].to_numpy(np.float64), counts),
    )
    return candidates, frames_table, picture, seen, cues


@dataclass
class _Cues:
    """What the tracker needs besides boxes: an appearance descriptor of each candidate scoring at
    least ``min_score`` (NaN rows below it) and a signature of each analysed frame (shot cuts)."""

    min_score: float
    features: list[np.ndarray] = field(default_factory=list)
    signatures: list[np.ndarray] = field(default_factory=list)

    def measure(self, found: Detections, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One frame's (features, signature); kept by :meth:`add` (apart, so that another thread may measure)."""
        features = np.full((len(found), FEATURE_SIZE), np.nan, np.float16)
        chosen = found.scores >= self.min_score
        if chosen.any():
            features[chosen] = face_features(pixels, xyxy_to_xywh(found.boxes[chosen]))
        return features, frame_signature(pixels)

    def add(self, features: np.ndarray, signature: np.ndarray) -> None:
        """Keep one frame's cues, in frame order."""
        self.features.append(features)
        self.signatures.append(signature)

    def joined(self, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """(candidates x FEATURE_SIZE) features and (frames x SIGNATURE_SIZE) signatures."""
        features = np.concatenate(self.features) if self.features else np.zeros((0, FEATURE_SIZE), np.float16)
        return features, np.stack(self.signatures[:frames]) if frames else np.zeros((0, SIGNATURE_SIZE), np.float32)


def _close(frames: Iterator[Any]) -> None:
    """Stop a frame iterator early (its decoding thread ends with it)."""
    close = getattr(frames, "close", None)
    if close is not None:
        close()


def _progress_bar(total: int, show: bool):
    """A tqdm bar (notebook-aware) of frames done and frames per second; tqdm's own no-op when off."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="frame", desc="facekit", disable=not show)


def interactive() -> bool:
    """True in an IPython or Jupyter session, or when stderr is a terminal."""
    ipython = sys.modules.get("IPython")
    if ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None:
        return True
    return sys.stderr.isatty()


def face_columns(detections: Detections, *, frame: int | np.ndarray, time: float | np.ndarray) -> Columns:
    """Detections as numpy columns of the canonical face table, in their order; ``frame`` and
    ``time``: one value for all, or one per detection.

    Plain arrays, not a DataFrame: pandas would cost more per frame than the work around the model.
    """
    count = len(detections)
    boxes = detections.boxes.astype(np.float64)
    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
    points = six_landmarks(detections.keypoints.astype(np.float64)).reshape(count, len(LANDMARK_COLUMNS))
    columns = {
        "frame": np.zeros(count, np.int64) + frame,
        "time": np.zeros(count, np.float64) + time,
        "score": detections.scores.astype(np.float64),
    }
    columns.update(zip(BOX_COLUMNS + LANDMARK_COLUMNS, np.hstack([xywh, points]).T))
    return columns


def _concat(tables: list[Columns]) -> Columns:
    """One table from per-frame columns."""
    if not tables:
        return face_columns(Detections.empty(), frame=0, time=math.nan)
    return {name: np.concatenate([table[name] for table in tables]) for name in tables[0]}
