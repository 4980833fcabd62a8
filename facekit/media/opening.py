"""Any source to a picture or an opened video, told apart by content; one frame's pixels."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError, MediaDecodeError
from ..limits import Limits
from .image import Picture, Reduce, decode_image, is_animated, picture_from_pixels
from .sniff import SNIFF_BYTES, MediaKind, sniff
from .sources import Source, SourceLike, locate
from .video import Video

__all__ = ["decode", "frame_pixels", "kind_of", "open_media"]


def open_media(source: SourceLike, limits: Limits | None = None, *, reduce: Reduce | None = None) -> Picture | Video:
    """The one way from any source (path, URL, base64, bytes, array, PIL image) to a Picture or a Video.

    Files are decoded where they lie and large downloads or payloads from a temporary file
    (:func:`~facekit.media.sources.locate`); pictures and videos are told apart by content (:func:`decode`).
    ``reduce`` lets a large JPEG decode at reduced scale (:func:`~facekit.media.image.decode_image`).
    """
    limits = limits or Limits.from_env()
    found = source if isinstance(source, Source) else locate(source, limits)
    if found.pixels is not None:
        return picture_from_pixels(found.pixels, limits)
    return decode(found, limits, reduce=reduce)


def decode(media: bytes | Source, limits: Limits, *, reduce: Reduce | None = None) -> Picture | Video:
    """Encoded media to one upright picture or an opened video, told apart by content (:func:`sniff`).

    Bytes with no known signature (an old QuickTime file, say) are tried as a picture first and
    then as a video; the picture's error is the one reported when neither works.
    """
    found = media if isinstance(media, Source) else Source(f"bytes ({len(media)} bytes)", data=bytes(media))
    kind = kind_of(found, limits)
    if kind is MediaKind.VIDEO:
        return Video(found, limits)
    try:
        return decode_image(found, limits, reduce=reduce)
    except MediaDecodeError as error:
        if kind is not MediaKind.UNKNOWN:
            raise
        try:
            return Video(found, limits)
        except MediaDecodeError:
            raise error from None


def kind_of(found: Source, limits: Limits) -> MediaKind:
    """Image or video by content (:func:`sniff`); an animated GIF, WebP or PNG is a video."""
    kind = sniff(found.head(SNIFF_BYTES))
    return MediaKind.VIDEO if kind is MediaKind.IMAGE and is_animated(found, limits) else kind


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
