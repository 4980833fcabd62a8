"""facekit: face detection for data scientists.

>>> import facekit as fk
>>> result = fk.detect("photo.jpg")          # local SCRFD on onnxruntime
>>> result.to_akool()                         # Akool's detect_faces answer
>>> result.to_frame()                         # one row per face, pandas
"""

import importlib
from typing import Any

__version__ = "0.1.0"

from . import accessor, data, models  # noqa: F401 - accessor registers df.faces
from .errors import (
    DownloadError,
    FacekitError,
    InvalidInputError,
    LimitExceededError,
    MediaDecodeError,
    ModelUnavailableError,
    UnsupportedMediaError,
)
from .limits import Limits
from .options import DetectOptions
from .pipeline import detect
from .result import Result, load

# Heavier parts load on first use, so ``import facekit`` stays quick: name -> (module, attribute).
_LAZY = {
    "clients": ("facekit.clients", None),
    "widgets": ("facekit.widgets", None),
    "display": ("facekit.display", None),
    "compare": ("facekit.comparison", "compare"),
    "detect_many": ("facekit.batch", "detect_many"),
    "read_truth": ("facekit.truth", "read_truth"),
    "evaluate": ("facekit.evaluation", "evaluate"),
    "Evaluation": ("facekit.evaluation", "Evaluation"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'facekit' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)


__all__ = [
    "DetectOptions",
    "DownloadError",
    "Evaluation",
    "FacekitError",
    "InvalidInputError",
    "LimitExceededError",
    "Limits",
    "MediaDecodeError",
    "ModelUnavailableError",
    "Result",
    "UnsupportedMediaError",
    "__version__",
    "clients",
    "compare",
    "data",
    "detect",
    "detect_many",
    "display",
    "evaluate",
    "load",
    "models",
    "read_truth",
    "widgets",
]
