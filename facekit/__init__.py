"""facekit: face detection for data scientists.

>>> import facekit as fk
>>> result = fk.detect("photo.jpg")          # local SCRFD on onnxruntime
>>> result.to_akool()                         # Akool's detect_faces answer
>>> result.to_frame()                         # one row per face, pandas
"""

__version__ = "0.1.0"

from . import data, models  # noqa: E402
from .errors import (  # noqa: E402
    DownloadError,
    FacekitError,
    InvalidInputError,
    LimitExceededError,
    MediaDecodeError,
    ModelUnavailableError,
    UnsupportedMediaError,
)
from .limits import Limits  # noqa: E402
from .pipeline import detect  # noqa: E402
from .result import Result, load  # noqa: E402

__all__ = [
    "DownloadError",
    "FacekitError",
    "InvalidInputError",
    "LimitExceededError",
    "Limits",
    "MediaDecodeError",
    "ModelUnavailableError",
    "Result",
    "UnsupportedMediaError",
    "__version__",
    "data",
    "detect",
    "load",
    "models",
]
