"""The SCRFD detector on onnxruntime: pixels in, candidate boxes, scores and 5 keypoints out.

It follows InsightFace's ``SCRFD.detect`` step for step (letterbox resize with ``cv2.resize``,
``(x - 127.5) / 128`` normalisation, anchor decoding, greedy NMS at IoU 0.4 with the legacy
``+1`` areas), so its boxes match InsightFace's; it differs in what it does not repeat: the
session is created once, the input blob is reused, and only anchors above the threshold are
decoded. It knows nothing of files: callers hand it arrays.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from .errors import InvalidInputError, ModelUnavailableError

DEFAULT_INPUT_SIZE = (640, 640)  # (width, height) for models whose input size is free
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
    def empty(cls) -> "Detections":
        return cls(np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty((0, 5, 2), np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    def scaled(self, sx: float, sy: float) -> "Detections":
        """The same detections in a picture resized by (sx, sy)."""
        factor = np.array([sx, sy], np.float32)
        return Detections(self.boxes * np.tile(factor, 2), self.scores, self.keypoints * factor)


def default_threads() -> int:
    """``FACEKIT_THREADS`` or the number of cores this process may use."""
    configured = os.environ.get("FACEKIT_THREADS")
    if configured:
        return max(1, int(configured))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_providers() -> list[str]:
    """CUDA when onnxruntime offers it, then the CPU."""
    available = ort.get_available_providers()
    preferred = [p for p in ("CUDAExecutionProvider",) if p in available]
    return preferred + ["CPUExecutionProvider"]


def pairwise_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` with every box in ``b`` (x1 y1 x2 y2), with InsightFace's ``+1`` areas."""
    w = np.maximum(0.0, np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1)
    h = np.maximum(0.0, np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1)
    inter = w * h
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU, block: int = 512) -> np.ndarray:
    """Indices kept by greedy NMS in descending score order (InsightFace's rule: a box goes when a
    higher-scored kept box overlaps it by more than ``iou``).

    Greedy NMS keeps a box only if no higher-scored kept box overlaps it, so the boxes kept above
    any threshold ``c`` are exactly those NMS keeps when run on the candidates above ``c``: that is
    what lets a Result be re-filtered without running the model again. Overlaps are computed a
    block of boxes at a time, so memory stays bounded however many candidates there are.
    """
    order = np.argsort(-scores, kind="stable")
    ranked = boxes[order]
    keep = np.ones(order.size, dtype=bool)
    for start in range(0, order.size, block):
        stop = min(start + block, order.size)
        earlier = np.flatnonzero(keep[:start])
        if earlier.size:
            keep[start:stop] &= ~(pairwise_overlap(ranked[earlier], ranked[start:stop]) > iou).any(axis=0)
        suppresses = pairwise_overlap(ranked[start:stop], ranked[start:stop]) > iou
        for i in range(stop - start):
            if keep[start + i]:
                keep[start + i + 1 : stop] &= ~suppresses[i, i + 1 :]
    return order[keep]


class Detector:
    """One onnxruntime session of an SCRFD model, safe to share between threads."""

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        providers: list[str] | None = None,
        spinning: bool | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.threads = threads or default_threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        if spinning is not None:
            options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        try:
            self.session = ort.InferenceSession(
                str(self.model_path), options, providers=providers or default_providers()
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelUnavailableError(f"cannot load {self.model_path} as an ONNX model: {exc}") from exc
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        height, width = model_input.shape[2:4]
        fixed = isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0
        self.input_size: tuple[int, int] = (width, height) if fixed else DEFAULT_INPUT_SIZE
        self.output_names = [o.name for o in self.session.get_outputs()]
        layout = _LAYOUTS.get(len(self.output_names))
        if layout is None:
            raise ModelUnavailableError(
                f"{self.model_path.name} has {len(self.output_names)} outputs; facekit needs an SCRFD "
                "model with 5 keypoints (9 or 15 outputs)"
            )
        self.strides, self.anchors = layout
        self._anchor_centers = self._make_anchor_centers()
        self._local = threading.local()

    @classmethod
    @lru_cache(maxsize=8)
    def load(cls, model_path: Path, threads: int | None = None, spinning: bool | None = None) -> "Detector":
        """A shared Detector per (model, threads, spinning): sessions are created once and reused."""
        return cls(model_path, threads=threads, spinning=spinning)

    @property
    def providers(self) -> list[str]:
        """Execution providers onnxruntime actually uses, best first."""
        return list(self.session.get_providers())

    def _make_anchor_centers(self) -> list[np.ndarray]:
        width, height = self.input_size
        centers = []
        for stride in self.strides:
            ys, xs = np.mgrid[: height // stride, : width // stride]
            grid = (np.stack([xs, ys], axis=-1).reshape(-1, 2) * stride).astype(np.float32)
            centers.append(np.repeat(grid, self.anchors, axis=0))
        return centers

    def _blob(self) -> np.ndarray:
        """This thread's reusable input tensor (allocating ~5 MB per call costs page faults)."""
        blob = getattr(self._local, "blob", None)
        if blob is None:
            width, height = self.input_size
            blob = self._local.blob = np.empty((1, 3, height, width), np.float32)
        return blob

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """Letterbox ``image`` (H x W x 3 RGB or H x W gray, uint8) into the blob; returns (blob, scale)."""
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
            raise InvalidInputError(f"expected an H x W x 3 uint8 RGB array, got {image.dtype} {image.shape}")
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        in_w, in_h = self.input_size
        img_h, img_w = image.shape[:2]
        if img_h / img_w > in_h / in_w:
            new_h = in_h
            new_w = int(new_h / (img_h / img_w))
        else:
            new_w = in_w
            new_h = int(new_w * (img_h / img_w))
        new_w, new_h = max(1, new_w), max(1, new_h)
        resized = cv2.resize(image, (new_w, new_h))
        blob = self._blob()
        blob.fill((0.0 - INPUT_MEAN) / INPUT_STD)
        for channel in range(3):
            plane = resized if resized.ndim == 2 else resized[:, :, channel]
            target = blob[0, channel, :new_h, :new_w]
            np.subtract(plane, INPUT_MEAN, out=target, dtype=np.float32)
            target *= 1.0 / INPUT_STD
        return blob, new_h / img_h

    def detect(self, image: np.ndarray, threshold: float) -> Detections:
        """Faces in ``image`` scoring at least ``threshold``, after NMS, in ``image`` pixels."""
        blob, scale = self.prepare(image)
        outputs = self.session.run(self.output_names, {self.input_name: blob})
        return self.decode(outputs, threshold, scale)

    def decode(self, outputs: list[np.ndarray], threshold: float, scale: float) -> Detections:
        """Anchor distances to boxes and keypoints, for anchors above ``threshold`` only, then NMS."""
        count = len(self.strides)
        boxes, scores, keypoints = [], [], []
        for level, stride in enumerate(self.strides):
            level_scores = outputs[level].reshape(-1)
            picked = np.flatnonzero(level_scores >= threshold)
            if picked.size == 0:
                continue
            centers = self._anchor_centers[level][picked]
            dist = outputs[level + count].reshape(-1, 4)[picked] * stride
            kps = outputs[level + 2 * count].reshape(-1, 10)[picked] * stride
            boxes.append(np.hstack([centers - dist[:, :2], centers + dist[:, 2:]]))
            keypoints.append(kps.reshape(-1, 5, 2) + centers[:, None, :])
            scores.append(level_scores[picked])
        if not scores:
            return Detections.empty()
        all_scores = np.concatenate(scores).astype(np.float32)
        order = np.argsort(-all_scores, kind="stable")
        all_boxes = (np.vstack(boxes) / scale).astype(np.float32)[order]
        all_kps = (np.vstack(keypoints) / scale).astype(np.float32)[order]
        all_scores = all_scores[order]
        keep = greedy_nms(all_boxes, all_scores)
        return Detections(all_boxes[keep], all_scores[keep], all_kps[keep])
