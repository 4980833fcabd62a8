"""Sample pictures, like ``skimage.data``: the three that ship in the scrfd 0.3.0 sdist.

They are fetched together with the detector (``facekit models fetch``) and verified by sha256.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import models
from .limits import Limits
from .media import decode_image

SAMPLES = {
    "solvay": "images/solvay_conference_1927.jpg",  # Solvay conference 1927: 29 faces
    "newton": "images/newton.png",
    "gauss": "images/gauss.png",
}


def path(name: str) -> Path:
    """Local path of sample ``name`` ("solvay", "newton" or "gauss"), fetching it if needed."""
    if name not in SAMPLES:
        raise KeyError(f"no sample {name!r}; samples: {', '.join(SAMPLES)}")
    target = models.home() / SAMPLES[name]
    if not target.is_file():
        models.fetch()
    return target


def _load(name: str) -> np.ndarray:
    return decode_image(path(name).read_bytes(), Limits()).rgb()


def solvay() -> np.ndarray:
    """The 1927 Solvay conference photograph (3000 x 2171, 29 faces), RGB."""
    return _load("solvay")


def newton() -> np.ndarray:
    """A portrait of Isaac Newton (768 x 432), RGB."""
    return _load("newton")


def gauss() -> np.ndarray:
    """A portrait of Carl Friedrich Gauss (1024 x 1305), RGB."""
    return _load("gauss")
