"""Timing helpers the benches share."""

from __future__ import annotations

import time

import numpy as np

from facekit.engine import Detector


def bare_fps(detector: Detector, frame: np.ndarray, runs: int) -> float:
    """``session.run`` per second on one ready blob made from ``frame`` (the model alone)."""
    feed = {detector.input_name: detector.prepare(frame)[0].copy()}
    for _ in range(3):
        detector.session.run(detector.output_names, feed)
    start = time.perf_counter()
    for _ in range(runs):
        detector.session.run(detector.output_names, feed)
    return runs / (time.perf_counter() - start)
