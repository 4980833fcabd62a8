"""OpenCV's thread count while videos run, and after."""

from __future__ import annotations

import cv2

from facekit.engine import serial_opencv


def test_serial_opencv_restores_the_count_when_the_last_overlapping_run_leaves():
    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        with serial_opencv():
            assert cv2.getNumThreads() == 1
            with serial_opencv():  # a second video run overlapping the first
                assert cv2.getNumThreads() == 1
            assert cv2.getNumThreads() == 1  # the first still runs
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(before)
