"""Shot cuts between analysed frames, from a small signature of each frame.

A frame's signature is its brightness histogram (16 bins) and its saturation-weighted hue
histogram (16 bins), both square-rooted to unit length: a pan or a face moving leaves them
nearly unchanged, a cut to another scene does not. Two analysed frames belong to different shots
when the Hellinger distance of their signatures exceeds a threshold; this works as well between
two frames seconds apart (sampled mode) as between neighbours, which a library working on the
full frame stream (PySceneDetect) cannot do.
"""

from __future__ import annotations

import numpy as np

from .appearance import unit_length

__all__ = ["CUT_THRESHOLD", "SIGNATURE_SIZE", "frame_signature", "shots", "signature_distances"]

SIGNATURE_SIZE = 32
"""Length of one frame signature."""
CUT_THRESHOLD = 0.25
"""Signature distance above which two analysed frames are taken to be in different shots."""
_BINS = 16
_SIDE = 64  # frames are shrunk to this many pixels a side first: the histograms hardly change


def frame_signature(pixels: np.ndarray) -> np.ndarray:
    """(32,) float32 signature of an RGB uint8 frame: brightness and hue histograms, each of unit length."""
    import cv2

    step = max(1, min(pixels.shape[:2]) // (2 * _SIDE))  # every step-th pixel first: area-averaging 720p costs 2 ms
    small = cv2.resize(np.ascontiguousarray(pixels[::step, ::step, :3]), (_SIDE, _SIDE), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    brightness = np.bincount(gray.ravel().astype(np.int64) >> 4, minlength=_BINS).astype(np.float32)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    counts = np.bincount(
        hsv[..., 0].ravel().astype(np.int64) * _BINS // 180, weights=hsv[..., 1].ravel(), minlength=_BINS
    )
    hue = counts.astype(np.float32) + float(_SIDE)  # a gray frame has an even hue histogram, not an empty one
    return np.concatenate([unit_length(np.sqrt(brightness)), unit_length(np.sqrt(hue))]).astype(np.float32)


def signature_distances(signatures: np.ndarray) -> np.ndarray:
    """Distance between each analysed frame's signature and the previous one's (first: 0; NaN if unknown)."""
    sig = np.asarray(signatures, dtype=np.float64).reshape(len(signatures), -1)
    steps = np.linalg.norm(np.diff(sig, axis=0), axis=1) / np.sqrt(2.0)  # each block in 0..sqrt(2)
    return np.concatenate([[0.0], steps])


def shots(signatures: np.ndarray | None, count: int, threshold: float = CUT_THRESHOLD) -> np.ndarray:
    """Shot number (0, 1, ...) of each of ``count`` analysed frames: a new shot wherever the
    signature distance to the previous frame exceeds ``threshold``; one shot without signatures."""
    if signatures is None or count == 0:
        return np.zeros(count, dtype=np.int64)
    steps = signature_distances(signatures)
    if len(steps) != count:
        raise ValueError(f"{len(steps)} signatures for {count} analysed frames")
    return np.cumsum(np.nan_to_num(steps, nan=0.0) > threshold).astype(np.int64)
