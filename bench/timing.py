"""Timing helpers the benches share."""

from __future__ import annotations

import time

import numpy as np

from facekit.engine import Detector


def bare_run(detector: Detector, frame: np.ndarray, runs: int) -> tuple[float, float]:
    """``session.run`` on one ready blob made from ``frame`` (the model alone): runs per second, and
    CPU seconds per run (all threads of this process; steadier than wall time on a shared machine)."""
    feed = {detector.input_name: detector.prepare(frame)[0].copy()}
    for _ in range(3):
        detector.session.run(detector.output_names, feed)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        detector.session.run(detector.output_names, feed)
    return runs / (time.perf_counter() - start), (time.process_time() - cpu) / runs


def bare_fps(detector: Detector, frame: np.ndarray, runs: int) -> float:
    """``session.run`` per second on one ready blob made from ``frame`` (the model alone)."""
    return bare_run(detector, frame, runs)[0]
