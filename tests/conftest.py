"""Shared fixtures: the real model, the sample pictures, and the shared test clips."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import facekit as fk

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The verified default detector (fetched from the scrfd 0.3.0 sdist on first use)."""
    return fk.models.fetch()


@pytest.fixture(scope="session")
def solvay_path(model_path) -> Path:
    return fk.data.path("solvay")


@pytest.fixture(scope="session")
def newton_path(model_path) -> Path:
    return fk.data.path("newton")


@pytest.fixture(scope="session")
def gauss_path(model_path) -> Path:
    return fk.data.path("gauss")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    skimage_data = pytest.importorskip("skimage.data")
    return skimage_data.astronaut()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real clips with ground truth). A fresh user clone does not have it:
    tests skip then, unless FACEKIT_REQUIRE_SHARED_DATA=1 (as in CI) makes its absence a failure."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    if os.environ.get("FACEKIT_REQUIRE_SHARED_DATA") == "1":
        pytest.fail(f"FACEKIT_REQUIRE_SHARED_DATA=1 but {SHARED_DATA} does not exist")
    pytest.skip(f"shared test data not found at {SHARED_DATA}")


@pytest.fixture(scope="session")
def pan_clip(tmp_path_factory, model_path) -> fk.data.PanVideo:
    """A real 3 s, 10 fps H.264 clip of a camera panning across Solvay: faces enter and leave."""
    return fk.data.pan_video(tmp_path_factory.mktemp("pan") / "pan.mp4", seconds=3.0, fps=10.0)
