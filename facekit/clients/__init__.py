"""Clients of the hosted face-detection APIs facekit speaks: each ``.detect(source)`` gives a Result.

>>> hosted = fk.clients.Akool(base_url="http://127.0.0.1:8000").detect("photo.jpg")
>>> fk.compare(fk.detect("photo.jpg"), hosted)
"""

from . import errors
from .akool import Akool
from .crun import Crun
from .errors import (
    AuthenticationError,
    ClientError,
    ClientTimeoutError,
    FeatureDisabledError,
    GenerationFailedError,
    InsufficientCreditsError,
    MalformedResponseError,
    NotFoundError,
    PublicUrlRequiredError,
    RateLimitedError,
    ServiceUnavailableError,
    ValidationError,
)
from .magichour import MagicHour

__all__ = [
    "Akool",
    "AuthenticationError",
    "ClientError",
    "ClientTimeoutError",
    "Crun",
    "FeatureDisabledError",
    "GenerationFailedError",
    "InsufficientCreditsError",
    "MagicHour",
    "MalformedResponseError",
    "NotFoundError",
    "PublicUrlRequiredError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "ValidationError",
    "errors",
]
