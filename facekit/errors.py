"""facekit's exceptions: one base class and a few subclasses a caller can act on."""

from __future__ import annotations

__all__ = [
    "DownloadError",
    "FacekitError",
    "InvalidInputError",
    "LimitExceededError",
    "MediaDecodeError",
    "ModelUnavailableError",
    "UnsupportedMediaError",
]


class FacekitError(Exception):
    """Base class of every error facekit raises on purpose."""


class InvalidInputError(FacekitError, ValueError):
    """The source or an option is not something facekit can take (bad base64, missing file, ...)."""


class MediaDecodeError(InvalidInputError):
    """The bytes arrived but are not a decodable image or video (empty, truncated, random)."""


class LimitExceededError(InvalidInputError):
    """The input is larger than a configured limit (bytes, pixels, frames, duration)."""


class UnsupportedMediaError(InvalidInputError):
    """The media is recognised but this build of facekit cannot analyse it."""


class DownloadError(FacekitError):
    """A URL could not be fetched (unreachable, timed out, HTTP error)."""


class ModelUnavailableError(FacekitError):
    """The detector model cannot be found, fetched or loaded."""
