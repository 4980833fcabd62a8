"""Face crops: an expanded square around each face, clipped to the picture, written as JPEG files."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .table import CROP_COLUMNS

__all__ = ["CROP_SCALE", "JPEG_QUALITY", "crop_regions", "write_crops"]

CROP_SCALE = 1.6  # side of the crop square / longer side of the face box, as Akool's example (~1.6)
JPEG_QUALITY = 92
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")  # characters kept in crop file names


def crop_regions(boxes: np.ndarray, width: int, height: int, scale: float = CROP_SCALE) -> np.ndarray:
    """(N, 4) [x, y, w, h] boxes to integer crop regions: centred squares ``scale`` times the
    longer side, clipped to the picture (so squares at an edge become rectangles)."""
    side = np.maximum(boxes[:, 2], boxes[:, 3]) * scale
    cx = boxes[:, 0] + boxes[:, 2] / 2
    cy = boxes[:, 1] + boxes[:, 3] / 2
    # at least one pixel inside the picture, even for a (low-confidence) box lying past its edge
    x1 = np.clip(np.floor(cx - side / 2), 0, width - 1)
    y1 = np.clip(np.floor(cy - side / 2), 0, height - 1)
    x2 = np.clip(np.ceil(cx + side / 2), x1 + 1, width)
    y2 = np.clip(np.ceil(cy + side / 2), y1 + 1, height)
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)


def write_crops(pixels: np.ndarray, faces: pd.DataFrame, directory: str | os.PathLike[str], stem: str) -> pd.DataFrame:
    """Write one JPEG per face of one frame (named by ``stem``, a token unique to this call, frame
    and rank in ``faces``); returns the crop columns (``crop_url`` as a file URI) indexed like
    ``faces``. The token keeps calls that share a folder and a stem (two arrays, two photo.jpg
    from different folders) from overwriting each other's crops."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    height, width = pixels.shape[:2]
    regions = crop_regions(faces[["x", "y", "w", "h"]].to_numpy(np.float64), width, height)
    prefix = f"{_SAFE.sub('_', stem).strip('_') or 'face'}_{uuid.uuid4().hex[:8]}"
    urls = []
    for rank, (frame, (x, y, w, h)) in enumerate(zip(faces["frame"], regions.astype(int))):
        target = directory / f"{prefix}_frame{frame}_{rank}.jpg"
        patch = pixels[y : y + max(h, 1), x : x + max(w, 1)]
        Image.fromarray(patch).save(target, quality=JPEG_QUALITY)
        urls.append(target.resolve().as_uri())
    return pd.DataFrame({"crop_url": urls, **dict(zip(CROP_COLUMNS[1:], regions.T))}, index=faces.index)
