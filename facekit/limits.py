"""Every size and time limit facekit enforces, in one configurable place."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from .settings import setting_number

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """Limits on what facekit accepts; each can be set here or by a ``FACEKIT_<NAME>`` variable.

    They exist so that a hostile or mistaken input fails fast with
    :class:`~facekit.errors.LimitExceededError` instead of exhausting memory or hanging.
    """

    max_bytes: int = 200 * 1024 * 1024
    """Largest encoded input (file, download, base64 payload) in bytes."""
    max_pixels: int = 100_000_000
    """Largest decoded picture (width x height); checked from the header, before decoding."""
    url_timeout: float = 30.0
    """Seconds allowed for connecting to a URL and for each read from it."""
    url_total_timeout: float = 120.0
    """Seconds allowed for a whole download."""
    max_video_seconds: float = 3600.0
    """Longest video accepted, in seconds (from its timestamps, before decoding)."""
    max_video_frames: int = 108_000
    """Most video frames analysed in one call (an hour at 30 fps with ``every_frame``)."""
    max_video_pixels: int = 7680 * 4320
    """Largest video frame (width x height, 8K UHD); checked from the stream header."""
    max_decoded_frames: int = 216_000
    """Most video frames decoded in one sampling or stream, counting those decoded only to reach a sampled
    frame (from the keyframe before it): sampling a video with keyframes far apart decodes far more frames
    than it analyses. Estimated from the keyframe index and refused before decoding, and counted while
    decoding. The default (an hour at 60 fps) lets any video within ``max_video_seconds`` be sampled
    locally; ``facekit serve`` sets a much smaller one (``facekit.server.settings.SERVER_MAX_DECODED_FRAMES``)."""

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, overridden by ``FACEKIT_MAX_BYTES``, ``FACEKIT_MAX_PIXELS``, ..."""
        values = {}
        for field in fields(cls):
            default = getattr(cls, field.name)
            number = setting_number(field.name.upper(), float)
            values[field.name] = type(default)(default if number is None else number)
        return cls(**values)

    def replace(self, **changes: Any) -> Limits:
        """A copy with some limits changed."""
        return replace(self, **changes)
