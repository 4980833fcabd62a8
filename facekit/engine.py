"""The SCRFD detector on onnxruntime: pixels in, candidate boxes, scores and 5 keypoints out.

It follows InsightFace's ``SCRFD.detect`` step for step (letterbox resize with ``cv2.resize``,
``(x - 127.5) / 128`` normalisation, anchor decoding, greedy NMS at IoU 0.4 with the legacy
``+1`` areas), so its boxes match InsightFace's; it differs in what it does not repeat: the
session is created once, the input blob is reused, and only anchors above the threshold are
decoded. With a model whose input size is free (see :mod:`facekit.variants`) and
``aspect="native"``, the blob follows the picture's shape instead of a 640 x 640 square: the
same resized pixels with less padding, so less work. It knows nothing of files: callers hand it arrays.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from .errors import InvalidInputError, ModelUnavailableError
from .settings import setting_bool, setting_number

__all__ = [
    "ASPECTS",
    "DEFAULT_INPUT_SIZE",
    "DEFAULT_SPINNING",
    "DEFAULT_THREADS",
    "INPUT_MEAN",
    "INPUT_STD",
    "NMS_IOU",
    "SIZE_MULTIPLE",
    "Detections",
    "Detector",
    "anchor_centers",
    "check_pixels",
    "default_providers",
    "default_spinning",
    "default_threads",
    "fill_blob",
    "greedy_nms",
    "input_size_for",
    "letterbox",
    "native_size",
    "pairwise_overlap",
    "serial_opencv",
]

DEFAULT_INPUT_SIZE = (640, 640)  # (width, height) for models whose input size is free
SIZE_MULTIPLE = 32  # native-aspect inputs are rounded up to this (the coarsest stride)
ASPECTS: tuple[str, ...] = ("native", "square")
NMS_IOU = 0.4
INPUT_MEAN = 127.5
INPUT_STD = 128.0

# Output count -> (strides, anchors per location); only keypoint models are usable here.
_LAYOUTS = {9: ((8, 16, 32), 2), 15: ((8, 16, 32, 64, 128), 1)}


@dataclass(frozen=True)
class Detections:
    """Faces found in one picture, sorted by descending score, in that picture's pixels."""

    boxes: np.ndarray  # (N, 4) float32, x1 y1 x2 y2
    scores: np.ndarray  # (N,) float32
    keypoints: np.ndarray  # (N, 5, 2) float32: left eye, right eye, nose, left/right mouth corner

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty((0, 5, 2), np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def concat(cls, parts: list[Detections]) -> Detections:
        """The detections of several pictures in one (for a video's frames, kept as compact float32)."""
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("boxes", "scores", "keypoints")))

    def scaled(self, sx: float, sy: float) -> Detections:
        """The same detections in a picture resized by (sx, sy)."""
        factor = np.array([sx, sy], np.float32)
        return Detections(self.boxes * np.tile(factor, 2), self.scores, self.keypoints * factor)


DEFAULT_THREADS = 0
"""onnxruntime intra-op threads: 0 means one per core this process may use (``FACEKIT_THREADS`` overrides)."""

DEFAULT_SPINNING = False
"""onnxruntime's busy-waiting between parallel sections, off: on a quiet 2-core machine it gains
little, while beside another busy process it cost ~45% more CPU per frame and ran slowest of all
settings (bench/bench_threads.py; README "Fast inference"). ``FACEKIT_SPINNING=1`` turns it on."""


def default_threads() -> int:
    """``FACEKIT_THREADS``, else :data:`DEFAULT_THREADS`, else the number of cores this process may use."""
    configured = setting_number("THREADS") or DEFAULT_THREADS
    if configured:
        return max(1, int(configured))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_spinning() -> bool:
    """``FACEKIT_SPINNING`` (1/0, true/false, yes/no), else :data:`DEFAULT_SPINNING`."""
    configured = setting_bool("SPINNING")
    return DEFAULT_SPINNING if configured is None else configured


def default_providers() -> list[str]:
    """CUDA when onnxruntime offers it, then the CPU."""
    available = ort.get_available_providers()
    preferred = [p for p in ("CUDAExecutionProvider",) if p in available]
    return [*preferred, "CPUExecutionProvider"]


def letterbox(width: int, height: int, input_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) InsightFace resizes a ``width`` x ``height`` picture to, to fit ``input_size``."""
    in_w, in_h = input_size
    if height / width > in_h / in_w:
        new_h = in_h
        new_w = int(new_h / (height / width))
    else:
        new_w = in_w
        new_h = int(new_w * (height / width))
    return max(1, new_w), max(1, new_h)


def native_size(width: int, height: int, square: tuple[int, int] = DEFAULT_INPUT_SIZE) -> tuple[int, int]:
    """The native-aspect input for a picture: its letterbox in ``square``, rounded up to multiples of 32.

    The picture is resized to exactly the pixels the square letterbox holds; only the padding
    below or to the right shrinks, which is what saves the work.
    """
    new_w, new_h = letterbox(width, height, square)
    return tuple(-(-side // SIZE_MULTIPLE) * SIZE_MULTIPLE for side in (new_w, new_h))  # type: ignore[return-value]


def input_size_for(
    width: int, height: int, aspect: str, square: tuple[int, int] = DEFAULT_INPUT_SIZE
) -> tuple[int, int]:
    """(width, height) of the model input for a picture: ``square`` itself, or its native-aspect cut."""
    return native_size(width, height, square) if aspect == "native" else square


def check_pixels(image: np.ndarray) -> None:
    """Refuse anything but H x W x 3 (or x 1) or H x W uint8 pixels."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
        raise InvalidInputError(f"expected an H x W x 3 uint8 RGB array, got {image.dtype} {image.shape}")


def fill_blob(image: np.ndarray, blob: np.ndarray, pad: bool = True) -> float:
    """Letterbox ``image`` into ``blob`` (1 x 3 x H x W float32) as InsightFace does; returns the scale.

    One ``cv2.resize``, ``cv2.split`` into contiguous planes, then per channel one multiply into
    the blob and one subtract in place (``x / 128 - 127.5 / 128`` is ``(x - 127.5) / 128`` exactly
    in float32; a 256-entry table look-up measured slower right after ``session.run``). The
    padding right of and below the picture is written only with ``pad``: a caller reusing a blob
    for frames of one size fills it once.
    """
    img_h, img_w = image.shape[:2]
    new_w, new_h = letterbox(img_w, img_h, (blob.shape[3], blob.shape[2]))
    resized = cv2.resize(image, (new_w, new_h))
    planes = [resized] * 3 if resized.ndim == 2 else cv2.split(resized)
    for channel, plane in enumerate(planes):
        target = blob[0, channel, :new_h, :new_w]
        np.multiply(plane, np.float32(1.0 / INPUT_STD), out=target)
        target -= np.float32(INPUT_MEAN / INPUT_STD)
    if pad:
        value = (0.0 - INPUT_MEAN) / INPUT_STD
        blob[0, :, new_h:, :] = value
        blob[0, :, :new_h, new_w:] = value
    return new_h / img_h


_OPENCV_LOCK = threading.Lock()
_OPENCV_USERS: list[int] = [0, 0]  # runs inside serial_opencv, OpenCV's thread count before the first


@contextmanager
def serial_opencv() -> Iterator[None]:
    """OpenCV's own threads off meanwhile (restored when the last overlapping user leaves): a video's
    letterbox already runs beside the model, and OpenCV's pool hand-offs cost ~1.5 ms CPU a 1080p frame."""
    with _OPENCV_LOCK:
        if _OPENCV_USERS[0] == 0:
            _OPENCV_USERS[1] = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _OPENCV_USERS[0] += 1
    try:
        yield
    finally:
        with _OPENCV_LOCK:
            _OPENCV_USERS[0] -= 1
            if _OPENCV_USERS[0] == 0:
                cv2.setNumThreads(_OPENCV_USERS[1])


@lru_cache(maxsize=32)
def anchor_centers(width: int, height: int, strides: tuple[int, ...], anchors: int) -> tuple[np.ndarray, ...]:
    """Per stride, the (x, y) centre of every anchor of a ``width`` x ``height`` input, in input pixels."""
    centers = []
    for stride in strides:
        ys, xs = np.mgrid[: height // stride, : width // stride]
        grid = (np.stack([xs, ys], axis=-1).reshape(-1, 2) * stride).astype(np.float32)
        centers.append(np.repeat(grid, anchors, axis=0))
    return tuple(centers)


def pairwise_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` with every box in ``b`` (x1 y1 x2 y2), with InsightFace's ``+1`` areas."""
    w = np.maximum(0.0, np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1)
    h = np.maximum(0.0, np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1)
    inter = w * h
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU, block: int = 1 << 20) -> np.ndarray:
    """Indices kept by greedy NMS in descending score order (InsightFace's rule: a box goes when a
    higher-scored kept box overlaps it by more than ``iou``).

    Greedy NMS keeps a box only if no higher-scored kept box overlaps it, so the boxes kept above
    any threshold ``c`` are exactly those NMS keeps when run on the candidates above ``c``: that is
    what lets a Result be re-filtered without running the model again. Overlaps are computed
    only for pairs whose boxes meet along x (a sweep over boxes sorted by x1), at most ``block``
    pairs at a time, with InsightFace's float32 arithmetic, so the decisions are its decisions.
    """
    order = np.argsort(-scores, kind="stable")
    ranked = boxes[order]
    higher, lower = _suppressions(ranked, iou, block)
    return order[_greedy(order.size, higher, lower)]


def _suppressions(ranked: np.ndarray, iou: float, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Rank pairs (higher, lower) whose boxes overlap by more than ``iou``: who would suppress whom."""
    x1, y1, x2, y2 = (np.ascontiguousarray(ranked[:, k]) for k in range(4))
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    by_x = np.argsort(x1, kind="stable")
    # Boxes meet along x only if the later one (in x1 order) starts before the earlier one ends (+1).
    ends = np.searchsorted(x1[by_x], x2[by_x] + 2, side="right")
    starts = np.arange(1, by_x.size + 1)
    counts = np.maximum(ends - starts, 0)
    higher, lower = [], []
    first = 0
    while first < by_x.size:
        last = first + max(1, int(np.searchsorted(np.cumsum(counts[first:]), block, side="right")))
        n = counts[first:last]
        a = np.repeat(np.arange(first, last), n)
        b = np.arange(a.size) - np.repeat(np.cumsum(n) - n, n) + starts[a]
        i, j = by_x[a], by_x[b]
        # InsightFace's arithmetic, in its order and precision, one pair per element.
        w = np.maximum(0.0, np.minimum(x2[i], x2[j]) - np.maximum(x1[i], x1[j]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[j]) - np.maximum(y1[i], y1[j]) + 1)
        inter = w * h
        over = inter / (areas[i] + areas[j] - inter) > iou
        i, j = i[over], j[over]
        higher.append(np.minimum(i, j))
        lower.append(np.maximum(i, j))
        first = last
    if not higher:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(higher), np.concatenate(lower)


def _greedy(count: int, higher: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Which of ``count`` ranked boxes greedy NMS keeps, given who would suppress whom.

    A box is kept iff none of the higher-ranked boxes that overlap it is kept. Each round decides,
    all at once, the boxes with a kept suppressor (dropped) and those whose suppressors are all
    dropped (kept); the best undecided box is always decidable, so the rounds end.
    """
    KEPT, DROPPED, OPEN = 1, -1, 0
    state = np.full(count, KEPT, np.int8)
    state[lower] = OPEN  # a box nothing better overlaps is kept at once
    while True:
        open_edges = state[lower] == OPEN
        higher, lower = higher[open_edges], lower[open_edges]
        if lower.size == 0:
            break
        source = state[higher]
        state[lower[source == KEPT]] = DROPPED
        waiting = np.zeros(count, bool)
        waiting[lower[source != DROPPED]] = True
        undecided = state == OPEN
        state[undecided & ~waiting] = KEPT
    return np.flatnonzero(state == KEPT)


class Detector:
    """One onnxruntime session of an SCRFD model, safe to share between threads.

    ``aspect="square"`` letterboxes every picture into a 640 x 640 input (InsightFace's way);
    ``"native"`` (only for a model whose input size is free) gives each picture an input of its
    own shape, long side 640 and the other rounded up to a multiple of 32.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        providers: list[str] | None = None,
        spinning: bool | None = None,
        aspect: str = "square",
    ) -> None:
        self.model_path = Path(model_path)
        self.threads = threads or default_threads()
        self.spinning = default_spinning() if spinning is None else spinning
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spinning else "0")
        try:
            self.session = ort.InferenceSession(
                str(self.model_path), options, providers=providers or default_providers()
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelUnavailableError(f"cannot load {self.model_path} as an ONNX model: {exc}") from exc
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        height, width = model_input.shape[2:4]
        self.fixed = isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0
        self.input_size: tuple[int, int] = (width, height) if self.fixed else DEFAULT_INPUT_SIZE
        if aspect not in ASPECTS:
            raise InvalidInputError(f"aspect must be one of {', '.join(ASPECTS)}, got {aspect!r}")
        if aspect == "native" and self.fixed:
            raise InvalidInputError(
                f"{self.model_path.name} has a fixed {width}x{height} input; aspect='native' needs a "
                "model with a free input size (facekit derives one: facekit.variants)"
            )
        self.aspect = aspect
        self.output_names = [o.name for o in self.session.get_outputs()]
        layout = _LAYOUTS.get(len(self.output_names))
        if layout is None:
            raise ModelUnavailableError(
                f"{self.model_path.name} has {len(self.output_names)} outputs; facekit needs an SCRFD "
                "model with 5 keypoints (9 or 15 outputs)"
            )
        self.strides, self.anchors = layout
        self._local = threading.local()

    @classmethod
    def load(
        cls,
        model_path: str | os.PathLike[str],
        threads: int | None = None,
        spinning: bool | None = None,
        aspect: str = "square",
    ) -> Detector:
        """A shared Detector per (model, threads, spinning, aspect), defaults resolved from the
        environment first, so every caller asking for the same session gets the same one."""
        threads = threads or default_threads()
        spinning = default_spinning() if spinning is None else spinning
        return _shared(Path(model_path), threads, spinning, aspect)

    @property
    def providers(self) -> list[str]:
        """Execution providers onnxruntime actually uses, best first."""
        return list(self.session.get_providers())

    def input_size_for(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the model input for a ``width`` x ``height`` picture."""
        return input_size_for(width, height, self.aspect, self.input_size)

    def _blob(self, size: tuple[int, int], slot: int = 0) -> tuple[np.ndarray, dict]:
        """This thread's reusable input tensor number ``slot`` of ``size`` (allocating ~5 MB per call
        costs page faults) and a note of the picture size its padding was last written for."""
        blobs = getattr(self._local, "blobs", None)
        if blobs is None:
            blobs = self._local.blobs = {}
        found = blobs.get((size, slot))
        if found is None:
            if len(blobs) >= 16:  # a video keeps one size; pictures of many shapes must not pile up
                blobs.clear()
            width, height = size
            found = blobs[(size, slot)] = (np.empty((1, 3, height, width), np.float32), {})
        return found

    def prepare(self, image: np.ndarray, slot: int = 0) -> tuple[np.ndarray, float]:
        """Letterbox ``image`` (H x W x 3 RGB or H x W gray, uint8) into this thread's blob number
        ``slot``; returns (blob, scale)."""
        check_pixels(image)
        img_h, img_w = image.shape[:2]
        size = self.input_size_for(img_w, img_h)
        blob, note = self._blob(size, slot)
        picture = letterbox(img_w, img_h, size)
        scale = fill_blob(image, blob, pad=note.get("padded_for") != picture)
        note["padded_for"] = picture
        return blob, scale

    def preparer(self, depth: int) -> Callable[[np.ndarray], tuple[np.ndarray, float]]:
        """:meth:`prepare` for a thread working ahead of the one that runs the model (a video's
        decoder): each call fills the next of ``depth`` blobs, so ``depth - 1`` prepared frames can
        wait for the model untouched."""
        slots = itertools.count()
        return lambda image: self.prepare(image, next(slots) % depth)

    def detect(self, image: np.ndarray, threshold: float) -> Detections:
        """Faces in ``image`` scoring at least ``threshold``, after NMS, in ``image`` pixels."""
        return self.run(*self.prepare(image), threshold)

    def run(self, blob: np.ndarray, scale: float, threshold: float) -> Detections:
        """Faces in a prepared ``blob`` (see :meth:`prepare`) scoring at least ``threshold``, in picture pixels."""
        return self.decode(self.infer(blob), threshold, scale, (blob.shape[3], blob.shape[2]))

    def infer(self, blob: np.ndarray) -> list[np.ndarray]:
        """The model's raw outputs for a prepared ``blob`` (fresh arrays: :meth:`decode` may read them
        in another thread while the next blob runs)."""
        return self.session.run(self.output_names, {self.input_name: blob})

    def decode(
        self, outputs: list[np.ndarray], threshold: float, scale: float, size: tuple[int, int] | None = None
    ) -> Detections:
        """Anchor distances to boxes and keypoints, for anchors above ``threshold`` only, then NMS.

        ``size`` is the (width, height) of the input the outputs came from (default: the square input).
        """
        width, height = size or self.input_size
        centers_by_level = anchor_centers(width, height, self.strides, self.anchors)
        count = len(self.strides)
        boxes, scores, found = [], [], []
        for level, stride in enumerate(self.strides):
            level_scores = outputs[level].reshape(-1)
            picked = np.flatnonzero(level_scores >= threshold)
            if picked.size == 0:
                continue
            centers = centers_by_level[level][picked]
            dist = outputs[level + count].reshape(-1, 4)[picked] * stride
            boxes.append(np.hstack([centers - dist[:, :2], centers + dist[:, 2:]]))
            scores.append(level_scores[picked])
            found.append((level, picked))
        if not scores:
            return Detections.empty()
        all_scores = np.concatenate(scores).astype(np.float32)
        all_boxes = (np.vstack(boxes) / scale).astype(np.float32)  # NMS's +1 areas need picture pixels
        keep = greedy_nms(all_boxes, all_scores)  # best first, ties in anchor order
        keypoints = self._keypoints(outputs, centers_by_level, found, keep) / scale
        return Detections(all_boxes[keep], all_scores[keep], keypoints.astype(np.float32))

    def _keypoints(
        self,
        outputs: list[np.ndarray],
        centers: tuple[np.ndarray, ...],
        found: list[tuple[int, np.ndarray]],
        keep: np.ndarray,
    ) -> np.ndarray:
        """Keypoints (input pixels) of the kept candidates only; ``found``: each level's picked anchors."""
        level_of = np.concatenate([np.full(picked.size, level) for level, picked in found])[keep]
        anchor_of = np.concatenate([picked for _, picked in found])[keep]
        points = np.empty((keep.size, 5, 2), np.float32)
        for level, _ in found:
            rows = np.flatnonzero(level_of == level)
            anchors = anchor_of[rows]
            raw = outputs[level + 2 * len(self.strides)].reshape(-1, 10)[anchors] * self.strides[level]
            points[rows] = raw.reshape(-1, 5, 2) + centers[level][anchors][:, None, :]
        return points


@lru_cache(maxsize=8)
def _shared(model_path: Path, threads: int, spinning: bool, aspect: str) -> Detector:
    """The cache behind :meth:`Detector.load`: sessions are created once and reused."""
    return Detector(model_path, threads=threads, spinning=spinning, aspect=aspect)
