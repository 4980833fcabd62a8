"""Any source to a picture or an opened video, told apart by content; one frame's pixels."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError, MediaDecodeError
from ..limits import Limits
from .image import Picture, decode_image, is_animated, picture_from_pixels
from .sniff import SNIFF_BYTES, MediaKind, sniff
from .sources import SourceLike, read_source
from .video import Video


def open_media(source: SourceLike, limits: Limits | None = None) -> Picture | Video:
    """Read ``source`` (path, URL, base64, bytes, array, PIL image) into a Picture or a Video."""
    limits = limits or Limits.from_env()
    loaded = read_source(source, limits)
    if loaded.pixels is not None:
        return picture_from_pixels(loaded.pixels, limits)
    return decode(loaded.data, limits)


def decode(data: bytes, limits: Limits) -> Picture | Video:
    """Encoded bytes to one upright picture or an opened video, told apart by content.

    Bytes with no known signature (an old QuickTime file, say) are tried as a picture first and
    then as a video; the picture's error is the one reported when neither works.
    """
    kind = sniff(data[:SNIFF_BYTES])
    if kind is MediaKind.VIDEO or (kind is MediaKind.IMAGE and is_animated(data, limits)):
        return Video(data, limits)
    try:
        return decode_image(data, limits)
    except MediaDecodeError as error:
        if kind is not MediaKind.UNKNOWN:
            raise
        try:
            return Video(data, limits)
        except MediaDecodeError:
            raise error from None


def frame_pixels(media: SourceLike | Picture | Video, frame: int = 0, limits: Limits | None = None) -> np.ndarray:
    """The RGB pixels of frame ``frame`` of a video, or of a picture (whose only frame is 0)."""
    if not isinstance(media, (Picture, Video)):
        media = open_media(media, limits)
    if isinstance(media, Picture):
        if frame != 0:
            raise InvalidInputError(f"a picture has only frame 0, not frame {frame}")
        return media.rgb()
    if not 0 <= frame < media.frame_count:
        raise InvalidInputError(f"frame {frame} is outside the video's {media.frame_count} frames")
    return next(iter(media.sample([frame]))).pixels
