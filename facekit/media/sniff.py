"""Tell images from videos, and name their format, by their first bytes: never by a file name or a Content-Type.

The one sniffing rule of facekit: decoding, the hosted clients, the server and the batch all ask here.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["SNIFF_BYTES", "MediaKind", "sniff", "sniff_format"]

SNIFF_BYTES = 512


class MediaKind(str, Enum):
    IMAGE = "image"
    VIDEO = "video"
    UNKNOWN = "unknown"


# ISO-BMFF brands that are still pictures, not movies.
_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}

# Top-level atoms a QuickTime movie may start with when it predates the ftyp box.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

# Signature -> (kind, usual file extension).
_MAGIC = (
    (b"\xff\xd8\xff", MediaKind.IMAGE, "jpg"),
    (b"\x89PNG\r\n\x1a\n", MediaKind.IMAGE, "png"),
    (b"GIF87a", MediaKind.IMAGE, "gif"),
    (b"GIF89a", MediaKind.IMAGE, "gif"),
    (b"BM", MediaKind.IMAGE, "bmp"),
    (b"II*\x00", MediaKind.IMAGE, "tiff"),
    (b"MM\x00*", MediaKind.IMAGE, "tiff"),
    (b"\x00\x00\x01\x00", MediaKind.IMAGE, "ico"),
    (b"\x1a\x45\xdf\xa3", MediaKind.VIDEO, "mkv"),  # Matroska; "webm" when its header says so
    (b"FLV", MediaKind.VIDEO, "flv"),
    (b"OggS", MediaKind.VIDEO, "ogv"),
    (b"\x00\x00\x01\xba", MediaKind.VIDEO, "mpg"),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", MediaKind.VIDEO, "wmv"),  # ASF
)


def sniff(head: bytes) -> MediaKind:
    """The kind of media whose file starts with ``head`` (give it ``SNIFF_BYTES``).

    An animated GIF, WebP or PNG is a video, but that needs the whole file: they come back as
    IMAGE here and :func:`facekit.media.image.is_animated` tells a single frame from many.
    """
    return sniff_format(head)[0]


def sniff_format(head: bytes) -> tuple[MediaKind, str | None]:
    """The kind and the usual file extension (no dot) of the media starting with ``head``."""
    for magic, kind, extension in _MAGIC:
        if head.startswith(magic):
            return kind, "webm" if extension == "mkv" and b"webm" in head[:64] else extension
    if head[:4] == b"RIFF":
        return {b"WEBP": (MediaKind.IMAGE, "webp"), b"AVI ": (MediaKind.VIDEO, "avi")}.get(
            head[8:12], (MediaKind.UNKNOWN, None)
        )
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return MediaKind.IMAGE, "avif" if brand.startswith(b"avi") else "heic"
        return MediaKind.VIDEO, "mov" if brand == b"qt  " else "mp4"
    if head[4:8] in _QUICKTIME_ATOMS:
        return MediaKind.VIDEO, "mov"
    if _is_transport_stream(head):
        return MediaKind.VIDEO, "ts"
    return MediaKind.UNKNOWN, None


def _is_transport_stream(head: bytes) -> bool:
    """MPEG-TS: a sync byte every 188 bytes."""
    return len(head) > 376 and head[0] == head[188] == head[376] == 0x47
