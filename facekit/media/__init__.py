"""Media: any source to pixels with their frame index and timestamp. Knows nothing of faces."""

from .image import Picture, decode_image, is_animated, picture_from_pixels
from .opening import decode, frame_pixels, kind_of, open_media
from .sniff import SNIFF_BYTES, MediaKind, sniff, sniff_format
from .sources import Source, locate
from .video import Frame, Video

__all__ = [
    "SNIFF_BYTES",
    "Frame",
    "MediaKind",
    "Picture",
    "Source",
    "Video",
    "decode",
    "decode_image",
    "frame_pixels",
    "is_animated",
    "kind_of",
    "locate",
    "open_media",
    "picture_from_pixels",
    "sniff",
    "sniff_format",
]
