"""Media: any source to pixels with their frame index and timestamp. Knows nothing of faces."""

from .image import Picture, decode_image, is_animated, picture_from_pixels
from .sniff import SNIFF_BYTES, MediaKind, sniff
from .sources import Source, read_source
from .video import Frame, Video

__all__ = [
    "Frame",
    "MediaKind",
    "Picture",
    "SNIFF_BYTES",
    "Source",
    "Video",
    "decode_image",
    "is_animated",
    "picture_from_pixels",
    "read_source",
    "sniff",
]
