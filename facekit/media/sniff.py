"""Tell images from videos by their first bytes, never by a file name or a Content-Type."""

from __future__ import annotations

from enum import Enum

SNIFF_BYTES = 512


class MediaKind(str, Enum):
    IMAGE = "image"
    VIDEO = "video"
    UNKNOWN = "unknown"


# ISO-BMFF brands that are still pictures, not movies.
_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}

# Top-level atoms a QuickTime movie may start with when it predates the ftyp box.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

_IMAGE_MAGIC = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"BM",
    b"II*\x00",  # TIFF little endian
    b"MM\x00*",  # TIFF big endian
    b"\x00\x00\x01\x00",  # ICO
)
_VIDEO_MAGIC = (
    b"\x1a\x45\xdf\xa3",  # Matroska / WebM
    b"FLV",
    b"OggS",
    b"\x00\x00\x01\xba",  # MPEG program stream
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",  # ASF / WMV
)


def sniff(head: bytes) -> MediaKind:
    """The kind of media whose file starts with ``head`` (give it ``SNIFF_BYTES``).

    An animated GIF is a video, but that needs the whole file: GIFs come back as IMAGE here and
    the image decoder tells a single frame from many.
    """
    if head.startswith((b"GIF87a", b"GIF89a")) or head.startswith(_IMAGE_MAGIC):
        return MediaKind.IMAGE
    if head[:4] == b"RIFF":
        return (
            MediaKind.IMAGE
            if head[8:12] == b"WEBP"
            else MediaKind.VIDEO
            if head[8:12] == b"AVI "
            else MediaKind.UNKNOWN
        )
    if head[4:8] == b"ftyp":
        return MediaKind.IMAGE if head[8:12] in _IMAGE_BRANDS else MediaKind.VIDEO
    if head[4:8] in _QUICKTIME_ATOMS:
        return MediaKind.VIDEO
    if head.startswith(_VIDEO_MAGIC) or _is_transport_stream(head):
        return MediaKind.VIDEO
    return MediaKind.UNKNOWN


def _is_transport_stream(head: bytes) -> bool:
    """MPEG-TS: a sync byte every 188 bytes."""
    return len(head) > 376 and head[0] == head[188] == head[376] == 0x47
