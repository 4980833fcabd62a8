"""Decode a still picture: pixel limit checked from the header, EXIF orientation applied, RGB out."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InvalidInputError, LimitExceededError, MediaDecodeError
from ..limits import Limits
from .sources import Source

__all__ = ["ORIENTATION", "Picture", "Reduce", "decode_image", "is_animated", "open_image", "picture_from_pixels"]


@dataclass(frozen=True)
class Picture:
    """An upright picture: ``pixels`` is H x W x 3 RGB uint8, or H x W for grayscale sources.

    Grayscale stays single-channel so a large gray JPEG is not tripled in memory before it is
    shrunk to the detector's input; the detector treats it as R = G = B.
    """

    pixels: np.ndarray
    format: str  # "JPEG", "PNG", ... or "array" / "PIL"
    stored: tuple[int, int] | None = None  # (width, height) in the file, when decoded at reduced scale

    @property
    def reduction(self) -> tuple[float, float]:
        """(x, y) factors from these pixels to the stored picture's: (1, 1) unless decoded reduced, then
        JPEG's scale (2, 4 or 8; a partial last block row or column makes the sizes' ratio inexact)."""
        if self.stored is None:
            return 1.0, 1.0
        factor = float(round(self.stored[0] / self.width))
        return factor, factor

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    def rgb(self) -> np.ndarray:
        """The pixels as H x W x 3 RGB."""
        if self.pixels.ndim == 2:
            return np.repeat(self.pixels[:, :, None], 3, axis=2)
        return self.pixels


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_pixels:
        raise LimitExceededError(
            f"picture is {width} x {height} = {width * height} pixels, over the limit of "
            f"{limits.max_pixels} (Limits.max_pixels)"
        )


def open_image(media: bytes | Source, limits: Limits) -> Image.Image:
    """Open (not decode) encoded ``media`` as a PIL image and check its pixel count from the header."""
    source = media if isinstance(media, Source) else Source("bytes", data=bytes(media))
    if source.size == 0:
        raise MediaDecodeError("the input is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source.path if source.path is not None else io.BytesIO(source.data or b""))
    except Image.DecompressionBombError as exc:
        raise LimitExceededError(f"picture refused before decoding: {exc}") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaDecodeError(f"not a recognised image or video ({source.description})") from exc
    _check_pixels(image.width, image.height, limits)
    return image


Reduce = Callable[[int, int], tuple[int, int]]
"""From a picture's stored (width, height), the least (width, height) its caller needs."""


def decode_image(media: bytes | Source, limits: Limits, *, reduce: Reduce | None = None) -> Picture:
    """Decode ``media`` (JPEG, PNG, WebP, BMP, TIFF, a one-frame GIF, ...) into an upright Picture.

    With ``reduce``, a JPEG stored without rotation is decoded at the smallest of 1/2, 1/4 or
    1/8 scale that still gives the size ``reduce`` asks for (Pillow's ``draft``: libjpeg scales
    while decoding, far cheaper than decoding everything and shrinking); ``Picture.stored`` then
    says the stored size.
    """
    image = open_image(media, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            stored = image.size
            if reduce is not None and image.format == "JPEG" and image.getexif().get(ORIENTATION, 1) == 1:
                image.draft(image.mode, reduce(*stored))
            image.load()
            return Picture(_to_pixels(image), image.format or "unknown", stored if image.size != stored else None)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise MediaDecodeError(f"the {image.format or 'image'} data is corrupt or truncated: {exc}") from exc


def _to_pixels(image: Image.Image) -> np.ndarray:
    """Apply EXIF orientation, then return RGB (or single-channel gray) uint8 pixels."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("L", "RGB"):  # already what the detector takes: no conversion copy
        return np.asarray(image)
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        # Transparent areas become white, as a viewer would show them, not black.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(image, dtype=np.float64)
        return np.clip(wide / max(wide.max(), 1.0) * 255.0, 0, 255).astype(np.uint8)
    return np.asarray(image.convert("RGB"))


def picture_from_pixels(pixels: np.ndarray | Image.Image, limits: Limits) -> Picture:
    """A Picture from an in-memory RGB array or PIL image (EXIF orientation applied for PIL)."""
    if isinstance(pixels, Image.Image):
        _check_pixels(pixels.width, pixels.height, limits)
        return Picture(_to_pixels(pixels), "PIL")
    array = np.asarray(pixels)
    if array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidInputError(f"expected an H x W x 3 RGB array, got shape {array.shape}")
    if array.dtype != np.uint8:
        raise InvalidInputError(f"expected a uint8 RGB array, got dtype {array.dtype}")
    _check_pixels(array.shape[1], array.shape[0], limits)
    return Picture(np.ascontiguousarray(array), "array")


ORIENTATION = 0x0112  # the EXIF tag

# Formats whose extra frames are animation. A JPEG with a second picture in it (MPO: phone
# photos with a depth or gain map, 3D cameras) or a multi-page TIFF is still one still picture.
_ANIMATED_FORMATS = {"GIF", "WEBP", "PNG"}


def is_animated(media: bytes | Source, limits: Limits) -> bool:
    """True for a GIF, WebP or APNG with more than one frame: those are analysed as videos."""
    with open_image(media, limits) as image:
        return image.format in _ANIMATED_FORMATS and bool(getattr(image, "is_animated", False))
