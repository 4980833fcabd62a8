"""The fidelity gate: how closely a model variant reproduces the original FP32 model's faces.

A variant (int8, native aspect, a faster preprocessing) may become a default only if, on data it
was never tuned on, it passes :data:`GATE` against the original. :func:`gate_inputs` builds that
held-out set from what the project may ship: Solvay (whole, 1280 wide, flipped, upside down, in
crowd-like mosaics of its faces), a face filling the frame, non-face textures, the pan video and
every frame of every shared clip. tests/test_fidelity.py runs it in CI; bench/bench_fast.py
prints the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..engine import Detections, Detector
from ..geometry import iou_matrix, match

__all__ = ["GATE", "TINY", "Agreement", "Detect", "anchor_errors", "compare", "gate_inputs", "score_steps", "steady"]

GATE = {
    "found": 0.99,
    "iou": 0.8,
    "extra": 0.01,
    "confidence": 0.5,
    "score_diff": 0.02,
    "tiny_lost": 1,
    "window": 0.1,
    "distinct": 0.9,
    "anchor_error": 0.02,
}
"""A variant passes if, at confidence 0.5, it finds >= 99% of the reference's faces at IoU >= 0.8,
adds <= 1% extra faces, moves matched scores by a median <= 0.02, loses at most one face of the
tiny-face case (Solvay 1280 wide), and shows no score quantisation at the threshold: of its
candidate scores within 0.1 of it, >= 90% are distinct values (FP32 gives ~100%; int8 outputs
come in steps, so faces near the threshold flip together). To be a default it must also keep the
score of every anchor the reference scores within 0.1 of the threshold within 0.02 of it (99th
percentile, :func:`anchor_errors`): otherwise footage full of borderline candidates (backs of
heads) gains or loses faces in bulk, whatever the faces of the gate set do."""

Detect = Callable[[np.ndarray], Detections]
"""A detector under test: RGB pixels in, detections scoring at least the gate's window floor out."""


@dataclass(frozen=True)
class Agreement:
    """How a variant's faces compare with the reference's, summed over frames."""

    reference: int  # faces the reference finds at the gate confidence
    candidate: int  # faces the variant finds at the gate confidence
    ious: np.ndarray  # IoU of each matched pair (one-to-one, IoU >= the gate's)
    score_diffs: np.ndarray  # |score difference| of each matched pair
    deviation: float  # largest |coordinate difference| of a matched box or keypoint, in pixels
    near: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # variant scores near the threshold

    @classmethod
    def of(cls, reference: Detections, candidate: Detections, confidence: float = GATE["confidence"]) -> Agreement:
        """Match faces one-to-one, best IoU first (:func:`facekit.geometry.match`), among those
        scoring at least ``confidence``; keep the variant's scores within the gate's window of it."""
        ref = reference.scores >= confidence
        got = candidate.scores >= confidence
        overlap = iou_matrix(reference.boxes[ref], candidate.boxes[got], fmt="xyxy")
        rows, cols = match(overlap, GATE["iou"], method="greedy")
        ref_points = np.hstack([reference.boxes[ref][rows], reference.keypoints[ref][rows].reshape(-1, 10)])
        got_points = np.hstack([candidate.boxes[got][cols], candidate.keypoints[got][cols].reshape(-1, 10)])
        shift = np.abs(ref_points - got_points)
        near = candidate.scores[np.abs(candidate.scores - confidence) <= GATE["window"]]
        return cls(
            int(ref.sum()),
            int(got.sum()),
            overlap[rows, cols],
            np.abs(reference.scores[ref][rows] - candidate.scores[got][cols]),
            float(shift.max()) if shift.size else 0.0,
            near,
        )

    def __add__(self, other: Agreement) -> Agreement:
        return Agreement(
            self.reference + other.reference,
            self.candidate + other.candidate,
            np.concatenate([self.ious, other.ious]),
            np.concatenate([self.score_diffs, other.score_diffs]),
            max(self.deviation, other.deviation),
            np.concatenate([self.near, other.near]),
        )

    @property
    def matched(self) -> int:
        return len(self.ious)

    @property
    def lost(self) -> int:
        return self.reference - self.matched

    @property
    def extra(self) -> int:
        return self.candidate - self.matched

    def summary(self) -> dict[str, float]:
        """The gate's numbers: found and extra ratios, median IoU and score difference, max deviation,
        and the share of distinct scores near the threshold."""
        return {
            "faces": self.reference,
            "found": self.matched / self.reference if self.reference else 1.0,
            "extra": self.extra / self.reference if self.reference else float(self.extra),
            "lost": self.lost,
            "extra_faces": self.extra,
            "median_iou": float(np.median(self.ious)) if self.matched else float("nan"),
            "median_score_diff": float(np.median(self.score_diffs)) if self.matched else 0.0,
            "max_deviation_px": self.deviation,
            "distinct_near_threshold": score_steps(self.near),
        }

    def passes(self, tiny: bool = False) -> bool:
        """Whether these numbers pass the fidelity gate (``tiny``: also the at-most-one-lost rule)."""
        numbers = self.summary()
        return (
            numbers["found"] >= GATE["found"]
            and numbers["extra"] <= GATE["extra"]
            and numbers["median_score_diff"] <= GATE["score_diff"]
            and numbers["distinct_near_threshold"] >= GATE["distinct"]
            and (not tiny or self.lost <= GATE["tiny_lost"])
        )


def score_steps(scores: np.ndarray, minimum: int = 20) -> float:
    """The share of distinct values among ``scores`` (1.0 with fewer than ``minimum``: too few to tell)."""
    if len(scores) < minimum:
        return 1.0
    return len(np.unique(scores)) / len(scores)


def compare(reference: Detect, candidate: Detect, frames: list[np.ndarray]) -> Agreement:
    """The summed agreement of ``candidate`` with ``reference`` over ``frames``."""
    total = Agreement(0, 0, np.zeros(0), np.zeros(0), 0.0)
    for frame in frames:
        total = total + Agreement.of(reference(frame), candidate(frame))
    return total


def anchor_errors(reference: Detector, candidate: Detector, frames: list[np.ndarray]) -> np.ndarray:
    """Candidate minus reference score at every anchor the reference scores within the gate's window
    of the threshold, both fed the reference's input blob: the raw score error where faces flip."""
    confidence, window = GATE["confidence"], GATE["window"]
    levels = len(reference.strides)
    errors = []
    for frame in frames:
        blob, _ = reference.prepare(frame)
        feeds = {reference.input_name: blob}
        expected = np.concatenate([o.ravel() for o in reference.session.run(reference.output_names[:levels], feeds)])
        found = np.concatenate([o.ravel() for o in candidate.session.run(candidate.output_names[:levels], feeds)])
        near = np.abs(expected - confidence) <= window
        errors.append(found[near] - expected[near])
    return np.concatenate(errors) if errors else np.zeros(0, np.float32)


def steady(errors: np.ndarray) -> bool:
    """Whether anchor score errors near the threshold stay within the gate's (99th percentile)."""
    return not errors.size or float(np.percentile(np.abs(errors), 99)) <= GATE["anchor_error"]


# -- the held-out gate set -----------------------------------------------------------------------

TINY = "solvay_1280"
"""The tiny-face case: Solvay 1280 wide, faces of ~15 px, where at most one face may be lost."""


def gate_inputs(workdir: Path, shared_data: Path | None = None, seed: int = 7) -> dict[str, list[np.ndarray]]:
    """Every gate input as its RGB frames; ``shared_data``: also every frame of every clip there.

    None of these is in the int8 calibration set (Newton and Gauss crops and mosaics), except
    the face-filling Newton close-up, which is far larger than any calibration face.
    """
    from .. import data
    from ..limits import Limits
    from ..media.video import Video

    rng = np.random.default_rng(seed)
    solvay = data.solvay()
    inputs: dict[str, list[np.ndarray]] = {
        "solvay": [solvay],
        TINY: [_resize(solvay, 1280 / solvay.shape[1])],
        "solvay_mirrored_upside_down": [np.ascontiguousarray(solvay[::-1, ::-1])],
        "crowd_mosaics": list(_mosaics(rng, solvay, 4)),
        "face_filling_frame": [_close_up(data.newton(), 1600)],
        "textures": list(_textures(rng)),
    }
    try:
        from skimage import data as skdata

        inputs["astronaut"] = [skdata.astronaut()]
    except ImportError:
        pass
    clips = (
        sorted(p for p in shared_data.iterdir() if p.suffix in (".mp4", ".mov", ".mkv", ".gif")) if shared_data else []
    )
    pan = data.pan_video(workdir / "pan.mp4", seconds=3.0, fps=10.0, size=(1280, 720))
    for path in [*clips, pan.path]:
        inputs[path.name] = [frame.pixels for frame in Video(path.read_bytes(), Limits()).stream()]
    return inputs


def _resize(picture: np.ndarray, scale: float) -> np.ndarray:
    size = (max(1, round(picture.shape[1] * scale)), max(1, round(picture.shape[0] * scale)))
    return cv2.resize(picture, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def _mosaics(rng: np.random.Generator, solvay: np.ndarray, count: int) -> Iterator[np.ndarray]:
    """Crowds: 1280 x 720 grids of Solvay tiles (mirrored, upside down or turned at random), faces ~10-60 px."""
    height, width = solvay.shape[:2]
    for _ in range(count):
        tile = int(rng.integers(120, 360))
        canvas = np.zeros((720, 1280, 3), np.uint8)
        for y in range(0, 720, tile):
            for x in range(0, 1280, tile):
                side = int(rng.integers(tile, 3 * tile))
                top, left = int(rng.integers(500, height - side)), int(rng.integers(0, width - side))
                piece = _resize(solvay[top : top + side, left : left + side], tile / side)
                piece = np.rot90(piece, int(rng.integers(0, 4))) if rng.random() < 0.3 else piece
                piece = piece[:, ::-1] if rng.random() < 0.5 else piece
                canvas[y : y + tile, x : x + tile] = piece[: 720 - y, : 1280 - x]
        yield canvas


def _close_up(portrait: np.ndarray, side: int) -> np.ndarray:
    """The middle of ``portrait`` (its face) upscaled so the face fills a ``side`` px tall frame."""
    height, width = portrait.shape[:2]
    crop = portrait[height // 8 : height * 5 // 8, width // 4 : width * 3 // 4]
    return _resize(crop, side / crop.shape[0])


def _textures(rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Pictures with no human face: noise, smooth noise, stripes, and scikit-image's textures if installed."""
    yield rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    yield cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (0, 0), 8)
    stripes = (127 + 120 * np.sin(np.arange(1280) / 9.0)).astype(np.uint8)
    yield np.ascontiguousarray(np.broadcast_to(stripes[None, :, None], (720, 1280, 3)))
    try:
        from skimage import data as skdata
    except ImportError:
        return
    for name in ("brick", "grass", "gravel", "coffee", "rocket", "hubble_deep_field", "chelsea"):
        picture = getattr(skdata, name)()
        yield np.ascontiguousarray(np.dstack([picture] * 3) if picture.ndim == 2 else picture)
